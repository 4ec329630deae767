"""``python -m rclsim.frontends.cli``: the same as the ``rclsim`` command."""

from rclsim.frontends.cli import main

raise SystemExit(main())
