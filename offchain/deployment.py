"""Deploy the OPML contracts from forge's build output and hand back handles to them.

One order for every path (tests, `make demo`, benches): MIPS, ModelRegistry, NodeLink, then
TaskRegistry, whose constructor deploys the DisputeGame bound to it (SPEC §6). Nothing here is
specific to anvil except the `Chain` it is given.
"""

from __future__ import annotations

from dataclasses import dataclass

from offchain.evm import Chain, Contract


@dataclass(frozen=True)
class Deployment:
    mips: Contract
    models: Contract
    link: Contract
    tasks: Contract
    games: Contract

    def as_sender(self, sender: str) -> "Deployment":
        """The same contracts, with transactions sent from `sender`."""
        return Deployment(*(c.as_sender(sender) for c in (self.mips, self.models, self.link, self.tasks, self.games)))

    def addresses(self) -> dict[str, str]:
        return {"MIPS": self.mips.address, "ModelRegistry": self.models.address, "NodeLink": self.link.address,
                "TaskRegistry": self.tasks.address, "DisputeGame": self.games.address}


def deploy(chain: Chain) -> Deployment:
    """Deploy the whole system on `chain` from its first account."""
    mips = chain.deploy("MIPS")
    models = chain.deploy("ModelRegistry")
    link = chain.deploy("NodeLink")
    tasks = chain.deploy("TaskRegistry", models.address, link.address, mips.address)
    games = chain.at("DisputeGame", tasks.call("games"))
    return Deployment(mips, models, link, tasks, games)
