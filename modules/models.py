"""Entry models of the eight modules. Each lives in its module's sub-package (`modules/<name>/models.py`)
and is imported here by name, so that `modules.models` lists every model of the app."""

from modules.buildings.models import BuildingRoomEntry, EnergyCombustion
from modules.equipment.models import Equipment
from modules.external.models import ExternalAI, ExternalCloud
from modules.facilities.models import AnimalFacilityUse, ResearchFacilityUse
from modules.fingerprints import ImportFingerprint
from modules.headcount.models import Member, Student
from modules.process.models import ProcessEmission
from modules.purchases.models import AdditionalPurchase, Purchase
from modules.travel.models import PlaneTrip, TrainTrip

__all__ = [
    "AdditionalPurchase", "AnimalFacilityUse", "BuildingRoomEntry", "EnergyCombustion", "Equipment", "ExternalAI",
    "ExternalCloud", "ImportFingerprint", "Member", "PlaneTrip", "ProcessEmission", "Purchase", "ResearchFacilityUse",
    "Student", "TrainTrip",
]
