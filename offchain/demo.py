"""`make demo`: real disputes end to end on a local anvil chain (see offchain/agents/demo.py).

The earlier pipeline slices live on as commands: `opml infer`, `opml check-node`, and
`python -m offchain.llm.kernels.mnist` (MNIST whole in the VM).
"""

import sys

from offchain.agents.demo import main

if __name__ == "__main__":
    sys.exit(main())
