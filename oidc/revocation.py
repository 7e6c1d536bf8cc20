"""Token revocation (RFC 7009). Revoking either kind of token ends its grant: the refresh token
family and every access token issued with it (§2.1 allows both directions)."""

from __future__ import annotations

from quart import Blueprint, Response

from oidc.client_auth import authenticated_client
from oidc.errors import InvalidRequestError, OAuth2Error, UnauthorizedClientError
from oidc.http import NO_STORE, back_channel_request, oauth_error_response
from oidc.provider import current_provider
from oidc.token_lookup import find_token

blueprint = Blueprint("revocation", __name__)


@blueprint.route("/revoke", methods=["POST"])
async def revoke() -> Response:
    provider = current_provider()
    try:
        client, form = await authenticated_client(
            await back_channel_request(), provider.client_assertions
        )
        token = form.get("token")
        if not token:
            raise InvalidRequestError("token is required")
        found = await find_token(provider, token, form.get("token_type_hint"))
        if found is not None and found.grant is not None:
            if found.client_id != client.client_id:
                # §2.1: the server verifies the token was issued to the client asking.
                raise UnauthorizedClientError("this token was not issued to this client")
            if found.stored_grant:
                await provider.store.grants.revoke(found.grant.id)
            else:
                await provider.store.grants.revoke_unstored(found.grant)
    except OAuth2Error as error:
        return oauth_error_response(error)
    # §2.2: 200 whether or not the token was valid; the client cannot act on the difference.
    return Response("", status=200, headers=NO_STORE)
