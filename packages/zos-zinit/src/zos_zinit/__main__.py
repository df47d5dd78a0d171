"""``python -m zos_zinit`` is the ``zinit`` command."""

import sys

from zos_zinit.cli import main

sys.exit(main())
