import sys

from refunddesk.cli import main

sys.exit(main())
