import sys

from lcodec.cli import main

sys.exit(main())
