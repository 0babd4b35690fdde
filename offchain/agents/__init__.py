"""The agents that play the game on a real chain: requester, submitter (`serve`), challenger (`watch`).

Event loop: a plain poll-and-tick loop (`agent.Agent.tick`), not ApeWorX's silverback. silverback
0.7.38 resolves with our pins but brings a task-queue runtime (taskiq, httpx, cryptography and a
dozen more packages) built around per-event handlers; our daemons re-derive every decision from
chain state on each tick, so a handler per event would add state to keep consistent, not remove
it, and restart safety would still be ours (the trace store).
"""
