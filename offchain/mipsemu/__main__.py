import sys

from offchain.mipsemu.cli import main

sys.exit(main())
