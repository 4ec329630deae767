"""``python -m rclsim.cli``: the same as the ``rclsim`` command."""

from . import main

raise SystemExit(main())
