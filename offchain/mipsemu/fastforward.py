"""Fast-forward: reach step K quickly, then hand over to the exact stepper.

(Placeholder until the unicorn engine lands: runs the exact stepper in large batches.)
"""

from offchain.mipsemu.state import VM


def fast_forward(vm: VM, target_step: int) -> None:
    """Advance `vm` until step_count == target_step or it exits."""
    while not vm.exited and vm.step_count < target_step:
        vm.run(target_step - vm.step_count)


def run_to_exit(vm: VM, batch: int = 1 << 24) -> None:
    while not vm.exited:
        vm.run(batch)
