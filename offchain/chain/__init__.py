"""All chain I/O of the agents and the CLI, on one contract client (issue 18 item 4).

- `client`: the Backend protocol (read, send from an account), JSON-RPC's `RpcBackend`, a deployed
  contract bound to a backend (`Bound`: calls, sends that are simulated first, logs filtered by
  topic at the node) and the deployed `System`;
- `views`: the contracts' structs as typed views, decoded by the ABI's component names;
- `ape`: the same Backend over ape's networks and accounts (the CLI's default), and forge's build
  output as ape contract containers;
- `deployment`: the deploy order, the shipped models' registration and the deployments files.

`offchain/evm.py` stays the direct anvil client of the differential tests and the benches.
"""
