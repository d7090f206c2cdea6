# Runs `manage.py runserver ADDRESS --noreload` until stdin closes: when the test process dies
# without stopping it (SIGKILL, a crashed worker), the closed pipe ends the server too.
import os
import sys
import threading

from django.core.management import execute_from_command_line


def exit_when_parent_goes():
    while sys.stdin.buffer.read(4096):
        pass
    os._exit(0)


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
    threading.Thread(target=exit_when_parent_goes, daemon=True).start()
    execute_from_command_line(["manage.py", "runserver", sys.argv[1], "--noreload"])
