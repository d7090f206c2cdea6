# Creates the user, group and applications harness.json describes, and the harness's own token
# with the `introspection` scope. Prints {"user_id": …} as JSON.
import json
import os
from datetime import timedelta

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import Group, User  # noqa: E402
from django.utils import timezone  # noqa: E402
from oauth2_provider.models import AccessToken, Application  # noqa: E402

h = settings.HARNESS
u = h["user"]
user = User.objects.create_user(u["username"], email=u["email"], password=u["password"])
user.groups.add(Group.objects.create(name=u["group"]))

for app in h["applications"]:
    Application.objects.create(
        name=app["name"],
        client_id=app["client_id"],
        client_secret=app["client_secret"],
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=app["redirect_uri"],
        algorithm=app["algorithm"],
        skip_authorization=False,
    )

resource_server = Application.objects.create(
    name="harness resource server",
    client_type=Application.CLIENT_CONFIDENTIAL,
    authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
)
AccessToken.objects.create(
    token=h["introspection_token"],
    application=resource_server,
    scope="introspection",
    expires=timezone.now() + timedelta(days=1),
)
print(json.dumps({"user_id": str(user.id)}))
