"""``python -m organiser``: the same as the ``organiser`` command."""

from organiser.commands.main import main

if __name__ == "__main__":
    main()
