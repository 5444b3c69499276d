"""External cloud and AI module: cloud spend and AI usage."""
