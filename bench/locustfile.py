"""Load on the lab API: lab principals reading and writing, each in their own lab (run by `bench/api.py --load`).

The signed-in sessions come from `BENCH_API_USERS` (a JSON file written by bench/api.py: the year and, per
user, the lab's cf, a session id and a CSRF token). Writes send the CSRF token as cookie and X-CSRFToken
header, as the lab pages do. Any status other than the expected one is a failure.

Mix per user (weights): entries list 4, autocomplete 4, results 2, report 1, me 1, and a write cycle 2
(create a process emission, change it, delete it: three requests), with 0.5–1.5 s between tasks.
"""

from __future__ import annotations

import itertools
import json
import os
import random
from pathlib import Path

from locust import between, task
from locust.contrib.fasthttp import FastHttpUser

SETUP = json.loads(Path(os.environ["BENCH_API_USERS"]).read_text())
YEAR = SETUP["year"]
_accounts = itertools.cycle(SETUP["users"])
SEARCHES = ["GVA", "ZRH", "LHR", "JFK", "CDG", "SIN", "BOS", "MAD"]
TYPED = ["ge", "gen", "zur", "zür", "lond", "par", "new y", "bos", "fra", "ams", "lis", "bcn", "GVA", "ber",
         "mad", "rom", "vien", "cope", "sing", "toky", "basel", "lausa", "munich", "dub"]
ORDERINGS = ["-kg_co2eq", "departure_date", "-departure_date", "origin_iata"]


class LabPrincipal(FastHttpUser):
    wait_time = between(0.5, 1.5)

    def on_start(self):
        account = next(_accounts)
        self.base = f"/api/v1/units/{account['cf']}/years/{YEAR}/"
        self.read_headers = {"Cookie": f"sessionid={account['session']}; csrftoken={account['csrf']}"}
        self.write_headers = {**self.read_headers, "X-CSRFToken": account["csrf"]}

    def get(self, path: str, name: str):
        self.client.get(path, headers=self.read_headers, name=name)

    @task(4)
    def entries_list(self):
        self.get(f"{self.base}entries/plane/?ordering={random.choice(ORDERINGS)}&search={random.choice(SEARCHES)}"
                 f"&page_size=50", "GET entries list")

    @task(4)
    def autocomplete(self):
        self.get(f"/api/v1/locations/?mode=plane&q={random.choice(TYPED)}", "GET locations")

    @task(2)
    def results(self):
        self.get(f"{self.base}results/", "GET results")

    @task(1)
    def report(self):
        self.get(self.base, "GET report")

    @task(1)
    def me(self):
        self.get("/api/v1/me/", "GET me")

    @task(2)
    def write_cycle(self):
        url = f"{self.base}entries/process_emission/"
        body = {"category": random.choice(["CO2", "CH4", "N2O"]), "quantity": round(random.uniform(0.1, 100), 3)}
        with self.client.post(url, json=body, headers=self.write_headers, name="POST entry",
                              catch_response=True) as response:
            if response.status_code != 201:
                response.failure(f"{response.status_code}: {response.text[:200]}")
                return
            pk = response.json()["id"]
        self.client.patch(f"{url}{pk}/", json={"quantity": "2.5"}, headers=self.write_headers, name="PATCH entry")
        self.client.request("DELETE", f"{url}{pk}/", headers=self.write_headers, name="DELETE entry")
