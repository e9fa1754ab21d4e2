"""Eight simulated editors type into one section at once, over HTTP, for a minute.

Each editor inserts words of its own (unique tokens) at random places, a few at a time, and
saves the way the page does (autosave with the version it started from). A conflict is
resolved like a person would: keep theirs, keep mine, or edit both. At the end every token
that a save acknowledged must still be somewhere: in the final text, in a conflict copy, or in
the section's history. Prints saves acknowledged, merges, conflict copies and lost edits.

    .venv/bin/python bench/co_edit_fuzz.py [--editors 8] [--seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import time

import httpx
from live_server import CSRF, prepare, uvicorn

logging.getLogger("httpx").setLevel(logging.WARNING)
START_TEXT = "\n\n".join(f"Paragraph {n} of the summary." for n in range(12))


class Editor:
    def __init__(self, number: int, client: httpx.AsyncClient, ref: str, section: int):
        self.number = number
        self.client = client
        self.url = f"/incidents/{ref}/section/{section}/autosave/"
        self.ref = ref
        self.text = START_TEXT
        self.version = 0
        self.counter = 0
        self.acknowledged: set[str] = set()
        self.stats = {"saves": 0, "merges": 0, "conflicts": 0}
        self.random = random.Random(number)

    def edit(self) -> list[str]:
        words = self.text.split(" ")
        typed = []
        for _ in range(self.random.randint(1, 3)):
            self.counter += 1
            token = f"e{self.number}w{self.counter}"
            words.insert(self.random.randint(0, len(words)), token)
            typed.append(token)
        self.text = " ".join(words)
        return typed

    async def save(self, typed: list[str]) -> None:
        response = await self.client.post(
            self.url, data={"body": self.text, "base_version": self.version}
        )
        data = response.json()
        if response.status_code == 200:
            self.stats["saves"] += 1
            self.stats["merges"] += bool(data["merged"])
            self.acknowledged.update(typed)
            self.text, self.version = data["text"], data["version"]
            return
        assert response.status_code == 409, (response.status_code, data)
        self.stats["conflicts"] += 1
        choice = self.random.choice(["theirs", "mine", "both"])
        resolved = (
            await self.client.post(
                f"/incidents/{self.ref}/conflicts/{data['conflict']}/resolve/",
                data={"choice": choice},
            )
        ).json()
        # The typed words are kept in the conflict copy whatever the choice.
        self.acknowledged.update(typed)
        self.text, self.version = resolved["text"], resolved["version"]
        if choice == "both":
            # A person edits the two texts into one: theirs, with the words they had typed.
            self.text = f"{data['theirs']} {' '.join(typed)}"

    async def run(self, until: float) -> None:
        while time.monotonic() < until:
            await self.save(self.edit())
            await asyncio.sleep(self.random.uniform(0.05, 0.4))


async def fuzz(editors: int, seconds: int, setup: dict, url: str) -> list[Editor]:
    clients = [
        httpx.AsyncClient(
            base_url=url,
            timeout=30,
            headers={
                "Cookie": setup["cookies"][n],
                "X-CSRFToken": CSRF,
                "Referer": url,
            },
        )
        for n in range(editors)
    ]
    people = [Editor(n, clients[n], setup["ref"], setup["section"]) for n in range(editors)]
    first = await clients[0].post(people[0].url, data={"body": START_TEXT, "base_version": 1})
    for person in people:
        person.version = first.json()["version"]
    until = time.monotonic() + seconds
    await asyncio.gather(*(person.run(until) for person in people))
    for client in clients:
        await client.aclose()
    return people


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--editors", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=60)
    args = parser.parse_args()
    setup = prepare(editors=args.editors)
    with uvicorn() as (url, _port):
        started = time.monotonic()
        people = asyncio.run(fuzz(args.editors, args.seconds, setup, url))
        elapsed = time.monotonic() - started

    from postmortems.models import ConflictCopy, Section

    section = Section.objects.get(pk=setup["section"])
    copies = list(ConflictCopy.objects.filter(section=section).values_list("text", flat=True))
    history = list(section.history.values_list("body", flat=True))
    final_words = set(section.body.split())
    copy_words = set(" ".join(copies).split())
    history_words = set(" ".join(history).split())
    acknowledged = set().union(*(person.acknowledged for person in people))
    lost = sorted(
        t
        for t in acknowledged
        if t not in final_words and t not in copy_words and t not in history_words
    )
    in_final = sum(1 for t in acknowledged if t in final_words)
    total = {key: sum(p.stats[key] for p in people) for key in ("saves", "merges", "conflicts")}
    print(f"co-edit fuzz: {args.editors} editors, {elapsed:.0f} s, one uvicorn process")
    print(f"  saves acknowledged     {total['saves']}")
    print(f"  of them merged         {total['merges']}")
    print(f"  conflict copies        {len(copies)} (editors met {total['conflicts']} conflicts)")
    print(f"  words typed and acked  {len(acknowledged)} ({in_final} in the final text)")
    print(f"  history rows           {len(history)}")
    print(f"  lost edits             {len(lost)}{'  ' + ' '.join(lost[:10]) if lost else ''}")


if __name__ == "__main__":
    main()
