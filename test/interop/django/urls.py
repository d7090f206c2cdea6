from django.contrib.auth.views import LoginView
from django.urls import include, path

import harness

urlpatterns = [
    path("accounts/login/", LoginView.as_view(template_name="registration/login.html")),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("harness/grants", harness.grants),
    path("harness/tokens", harness.tokens),
    path("harness/ready", harness.ready),
]
