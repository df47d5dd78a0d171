"""``python -m zos_cli`` is the ``zos`` command."""

import sys

from zos_cli.main import main

sys.exit(main())
