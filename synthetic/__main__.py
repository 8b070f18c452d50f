"""`python -m silentcert.synthetic generate ...`: the generator without the rest of the command line."""

from silentcert.synthetic.command import main

raise SystemExit(main())
