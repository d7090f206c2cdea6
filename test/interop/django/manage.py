#!/usr/bin/env python3
# The minimal Django project the interop tests run Django OAuth Toolkit in (see ../dot-provider.ts).
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
