from oauth2_provider.oauth2_validators import OAuth2Validator


class ClaimsValidator(OAuth2Validator):
    """Adds the claims the IoTtalk Account Subsystem sends to ID tokens and userinfo."""

    def get_additional_claims(self, request):
        user = request.user
        group = user.groups.order_by("name").first()
        return {
            "preferred_username": user.get_username(),
            "email": user.email,
            "group": group.name if group else "",
        }
