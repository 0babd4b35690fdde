"""All chain I/O of the agents and the CLI, on one contract client (issue 18 item 4).

- `client`: the Backend protocol (read, send from an account), JSON-RPC's `RpcBackend`, a deployed
  contract bound to a backend (`Bound`: calls, sends that are simulated first, logs filtered by
  topic at the node) and the deployed `System`;
- `views`: the contracts' structs as typed views, decoded by the ABI's component names;
- `ape`: the same Backend over ape's networks and accounts (the CLI's default), and forge's build
  output as ape contract containers;
- `deployment`: the deploy order, the shipped models' registration and the deployments files;
- `rpc` (JSON-RPC and its one-line errors), `abi` (forge's artifacts), `anvil` (a throw-away node
  and a `Chain` on it whose contracts are the same client, for tests, benches and the demo).

`offchain/evm.py` re-exports the names the differential tests and the benches import.
"""
