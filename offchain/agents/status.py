"""`opml status`: what the chain says about tasks, results and games, for people."""

from __future__ import annotations

from offchain.chain.client import System


def overview(system: System) -> list[str]:
    n = int(system.tasks.call("taskCount"))
    lines = [f"{n} task(s), {int(system.tasks.call('resultCount'))} result(s), {int(system.games.call('gameCount'))} game(s)"]
    for tid in range(1, n + 1):
        t = system.tasks.task(tid)
        lines.append(f"task {tid}: {t.status.name.lower()}, P = {t.prompt_length}, N = {t.new_tokens}, "
                     f"{t.nodes} nodes, {t.pending_results} pending result(s)")
    return lines


def task_report(system: System, task_id: int) -> list[str]:
    t = system.tasks.task(task_id)
    lines = [f"task {task_id}: {t.status.name.lower()}, model 0x{t.model.hex()[:16]}…, P = {t.prompt_length}, "
             f"N = {t.new_tokens}, reward {t.reward / 1e18:g} ETH, window {t.window}s, clock {t.clock}s"]
    k = int(system.tasks.call("quorumOf", task_id))
    if k:
        ok, claim = system.tasks.call("softFinal", task_id)
        state = "soft-final" if ok else ("disproven" if int(system.tasks.call("softFinalAt", task_id)) else "not soft-final")
        lines.append(f"  quorum of {k}: {state}" + (f", claim 0x{claim.hex()[:16]}…" if ok else ""))
    for e in system.tasks.events("ResultRevealed", taskId=task_id):
        r = system.tasks.result(e["resultId"])
        lines.append(f"  result {e['resultId']} by {r.submitter}: {r.status.name.lower()}, S_n 0x{r.final_state.hex()[:16]}…, "
                     f"{r.live_games} live game(s)")
        for g in system.tasks.events("Challenged", resultId=e["resultId"]):
            v = system.games.game(g["gameId"])
            lines.append(f"    game {g['gameId']} by {v.challenger}: {v.stage.name.lower()}, level {v.level}, "
                         f"round {v.round}, [{v.lo}, {v.hi}]")
    return lines


def game_timeline(system: System, game_id: int) -> list[str]:
    g = system.games.game(game_id)
    lines = [f"game {game_id} on result {g.result_id}: {g.stage.name.lower()}; submitter {g.submitter}, "
             f"challenger {g.challenger}; clocks left {g.submitter_clock}s / {g.challenger_clock}s"]
    events = []
    for name in ("GameOpened", "MidpointPosted", "Responded", "TransitionProven", "StepVerified", "GameResolved"):
        events += [(e["blockNumber"], name, e) for e in system.games.events(name, gameId=game_id)]
    for block, name, e in sorted(events, key=lambda x: x[0]):
        if name == "GameOpened":
            what = f"opened over {e['nodes']} nodes"
        elif name == "MidpointPosted":
            what = f"phase {2 - e['level']} round {e['round']}: submitter claims index {e['index']} = 0x{e['claim'].hex()[:12]}…"
        elif name == "Responded":
            what = f"phase {2 - e['level']} round {e['round']}: challenger {'agrees' if e['agree'] else 'disagrees'} → [{e['lo']}, {e['hi']}]"
        elif name == "TransitionProven":
            what = f"transition: node {e['node']} linked; phase 1 over {e['steps']} steps"
        elif name == "StepVerified":
            what = f"MIPS.step at step {e['stepIndex']}: post-state 0x{e['postStateHash'].hex()[:12]}…"
        else:
            what = f"resolved: {['', '', '', '', 'submitter won', 'challenger won', 'abandoned'][e['outcome']]} " \
                   f"({['step', 'timeout', 'abandoned'][e['reason']]})"
        lines.append(f"  block {block:>5}  {what}")
    return lines
