import sys

from scratch.cli import main

sys.exit(main())
