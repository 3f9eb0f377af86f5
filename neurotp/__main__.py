import sys

from neurotp.cli import main

sys.exit(main())
