"""Malformed input for the fuzz tests (hypothesis strategies of parameters, bodies, headers and
JWTs), and the checks every answer of the server must pass: no 5xx, a designed page or the right
OAuth error, redirects only to this server or to a URI registered for the client, and no input
echoed into HTML unescaped."""

from __future__ import annotations

import base64
import html
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote_from_bytes, urlsplit

import httpx2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from hypothesis import strategies as st
from joserfc.jwk import RSAKey

# How many cases each fuzz test sent, for the terminal summary.
CASES: Counter[str] = Counter()
STATUSES: defaultdict[str, Counter[int]] = defaultdict(Counter)
ECHOED: Counter[str] = Counter()  # answers that showed a marker, escaped

# RFC 6749 §5.2 and RFC 7009 / 7662 / 8707: the error codes each endpoint may answer with.
TOKEN_ERRORS = frozenset(
    {
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
        "invalid_target",
    }
)
REVOKE_ERRORS = frozenset(
    {"invalid_request", "invalid_client", "unauthorized_client", "unsupported_token_type"}
)
INTROSPECT_ERRORS = frozenset({"invalid_request", "invalid_client"})
# RFC 9126 §2.3: the token endpoint's errors, and the authorization endpoint's (RFC 9101 for
# a request object pushed).
PAR_ERRORS = frozenset(
    {
        "invalid_request",
        "invalid_client",
        "unauthorized_client",
        "unsupported_response_type",
        "invalid_scope",
        "invalid_request_object",
    }
)
# RFC 6750 §3.1: each Bearer error code with its status.
BEARER_ERRORS = {"invalid_request": 400, "invalid_token": 401, "insufficient_scope": 403}
# RFC 9449 §7.1: a resource answers proof problems with 401 and a DPoP challenge.
DPOP_ERRORS = {"invalid_dpop_proof": 401, "use_dpop_nonce": 401}
# RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6, RFC 9101, Initiating User Registration §5; never
# server_error, which would be a 500 in disguise.
AUTHORIZE_ERRORS = frozenset(
    {
        "invalid_request",
        "unauthorized_client",
        "access_denied",
        "unsupported_response_type",
        "invalid_scope",
        "temporarily_unavailable",
        "interaction_required",
        "login_required",
        "account_selection_required",
        "consent_required",
        "invalid_request_uri",
        "invalid_request_object",
        "request_not_supported",
        "request_uri_not_supported",
        "registration_not_supported",
    }
)
# RFC 6749 §5.2: error_description is %x20-21 / %x23-5B / %x5D-7E.
DESCRIPTION = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]*")
# Statuses a JSON endpoint may answer with a page rather than JSON: the HTTP layer's own.
HTTP_LAYER = frozenset({404, 405, 413})
REDIRECTS = frozenset({301, 302, 303, 307, 308})

# Markers that can only show in a page if input was echoed into it without escaping.
ECHO_MARKERS = ("<fz-x", '"fz-x', "'fz-x")
ATTRIBUTE = re.compile(r"""\b(?:href|src|action|formaction)\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.I)


@dataclass
class Site:
    """What the checks know of the server: its origin and every URI registered in its config."""

    issuer: str
    external: tuple[str, ...]  # registered URIs a page may link to (policies, terms, logos)
    redirect_uris: dict[str, tuple[str, ...]] = field(default_factory=dict)
    post_logout_uris: tuple[str, ...] = ()


def describe(response: httpx2.Response) -> str:
    request = response.request
    body = request.content[:300] if request.content else b""
    return (
        f"{request.method} {str(request.url)[:300]} body={body!r}\n-> {response.status_code} "
        f"{dict(response.headers)}\n{response.text[:1500]}"
    )


# --- Checks of answers -----------------------------------------------------------------------


def check_location(
    response: httpx2.Response,
    site: Site,
    targets: Iterable[str],
    authorize: bool = False,
    state: str | None = None,
) -> None:
    """No open redirect: to this server, or to a registered URI (then with RFC-shaped errors,
    `iss`, and the request's `state` when it is given)."""
    location = response.headers["location"]
    assert location.isprintable() and " " not in location, describe(response)
    parts = urlsplit(location)
    if not parts.scheme and not parts.netloc:
        assert location.startswith("/") and not location.startswith(("//", "/\\")), describe(
            response
        )
        return
    if location == site.issuer or location.startswith(site.issuer + "/"):
        return
    matched = [
        t for t in targets if location == t or location.startswith(t + ("&" if "?" in t else "?"))
    ]
    assert matched, f"open redirect to {location}\n{describe(response)}"
    if authorize:
        query = parse_qs(location[len(matched[0]) :].lstrip("?&"), keep_blank_values=True)
        if "error" in query:
            assert query["error"] == [query["error"][0]], describe(response)
            assert query["error"][0] in AUTHORIZE_ERRORS, describe(response)
            for description in query.get("error_description", []):
                assert DESCRIPTION.fullmatch(description), describe(response)
        assert query.get("iss") == [site.issuer], describe(response)
        if state is not None:
            assert query.get("state") == [state], describe(response)


def check_html(response: httpx2.Response, site: Site, targets: Iterable[str] = ()) -> None:
    """A designed page: our layout, nothing echoed unescaped, links only where they may go."""
    assert response.headers.get("content-type", "").startswith("text/html"), describe(response)
    text = response.text
    layout = re.search(r'<main class="card( [a-z-]+)*"', text)  # a page may widen its card
    assert layout and "· Gatehouse</title>" in text, describe(response)
    lowered = text.lower()
    for marker in ECHO_MARKERS:
        assert marker not in lowered, f"{marker} echoed unescaped\n{describe(response)}"
    allowed = (*site.external, *targets)
    for match in ATTRIBUTE.finditer(text):
        link = html.unescape(match.group(1) or match.group(2) or "")
        ok = (
            (link.startswith("/") and not link.startswith(("//", "/\\")))
            or link == site.issuer
            or link.startswith(site.issuer + "/")
            or link.startswith(("otpauth://totp/", "data:image/", "#"))
            or any(
                link == uri or link.startswith(uri + ("&" if "?" in uri else "?"))
                for uri in allowed
            )
        )
        assert ok, f"link to {link!r}\n{describe(response)}"


def check_common(response: httpx2.Response) -> None:
    assert response.status_code < 500, describe(response)
    assert response.headers.get("x-content-type-options") == "nosniff", describe(response)


def check_page(
    response: httpx2.Response,
    site: Site,
    targets: Iterable[str] = (),
    authorize: bool = False,
    state: str | None = None,
) -> None:
    """An answer of a page people see: a designed page, or a redirect that stays safe."""
    check_common(response)
    targets = tuple(targets)
    if response.status_code == 431:
        # The protocol refuses a head over `max_header_bytes` before the application sees it.
        assert len(str(response.request.url)) > 16_000, describe(response)
        return
    if response.status_code in REDIRECTS:
        check_location(response, site, targets, authorize, state)
        return
    assert "location" not in response.headers, describe(response)
    check_html(response, site, targets)


def check_oauth_error(response: httpx2.Response, errors: frozenset[str]) -> None:
    """RFC 6749 §5.2: JSON with a known code, 401 for invalid_client, 400 for the others."""
    assert response.headers.get("content-type", "").startswith("application/json"), describe(
        response
    )
    body = response.json()
    assert isinstance(body, dict) and body.get("error") in errors, describe(response)
    assert response.status_code == (401 if body["error"] == "invalid_client" else 400), describe(
        response
    )
    description = body.get("error_description")
    assert description is None or (
        isinstance(description, str) and DESCRIPTION.fullmatch(description)
    ), describe(response)
    assert "no-store" in response.headers.get("cache-control", ""), describe(response)
    scheme = response.request.headers.get("authorization", "").partition(" ")[0].lower()
    if response.status_code == 401 and scheme == "basic":
        # §5.2: a client that tried Basic is answered with the Basic challenge.
        assert response.headers.get("www-authenticate", "").startswith("Basic"), describe(response)


def check_api(response: httpx2.Response, site: Site, errors: frozenset[str]) -> None:
    """A JSON endpoint's error; a page only for the HTTP layer's own statuses."""
    check_common(response)
    if response.status_code in HTTP_LAYER:
        check_html(response, site)
    else:
        check_oauth_error(response, errors)


def check_token(response: httpx2.Response, site: Site) -> None:
    if response.status_code == 200:
        check_common(response)
        body = response.json()
        assert isinstance(body.get("access_token"), str) and body.get("token_type") == "Bearer"
        return
    check_api(response, site, TOKEN_ERRORS)


def check_revoke(response: httpx2.Response, site: Site) -> None:
    if response.status_code == 200:
        check_common(response)
        assert response.content == b"", describe(response)
        return
    check_api(response, site, REVOKE_ERRORS)


def check_introspect(response: httpx2.Response, site: Site) -> None:
    if response.status_code == 200:
        check_common(response)
        assert isinstance(response.json().get("active"), bool), describe(response)
        return
    check_api(response, site, INTROSPECT_ERRORS)


def check_pushed_request(response: httpx2.Response, site: Site) -> None:
    if response.status_code == 201:
        check_common(response)
        assert "no-store" in response.headers.get("cache-control", ""), describe(response)
        body = response.json()
        assert body["request_uri"].startswith("urn:ietf:params:oauth:request_uri:"), describe(response)
        assert isinstance(body["expires_in"], int), describe(response)
        return
    check_api(response, site, PAR_ERRORS)


CHALLENGE = re.compile(
    r'(Bearer|DPoP) realm="gatehouse"(?:, [a-z_]+="[\x20\x21\x23-\x5b\x5d-\x7e]*")*'
)


def check_userinfo(response: httpx2.Response, site: Site) -> None:
    """RFC 6750 §3: claims, or a Bearer challenge whose error code matches the status."""
    check_common(response)
    status = response.status_code
    if status == 200:
        assert response.headers["content-type"].startswith(
            ("application/json", "application/jwt")
        ), describe(response)
        return
    if status in HTTP_LAYER:
        check_html(response, site)
        return
    challenge = response.headers.get("www-authenticate", "")
    assert CHALLENGE.fullmatch(challenge), describe(response)
    error = re.search(r'error="([^"]*)"', challenge)
    scheme, _, token = response.request.headers.get("authorization", "").partition(" ")
    if error is None:
        assert status == 401 and response.json() == {}, describe(response)
        # §3.1: a request that sent a Bearer (or DPoP) token is told what was wrong with it.
        assert scheme.lower() not in ("bearer", "dpop") or not token.strip(), describe(response)
    else:
        assert {**BEARER_ERRORS, **DPOP_ERRORS}.get(error.group(1)) == status, describe(response)
        assert response.json().get("error") == error.group(1), describe(response)
        dpop = scheme.lower() == "dpop" or error.group(1) in DPOP_ERRORS
        assert challenge.startswith("DPoP " if dpop else "Bearer "), describe(response)


def check_static(response: httpx2.Response, site: Site) -> None:
    check_common(response)
    if response.status_code in (200, 206, 304):
        assert not response.headers.get("content-type", "").startswith("text/html"), describe(
            response
        )
        return
    check_page(response, site)


# --- Strategies --------------------------------------------------------------------------------

# Echo markers: each would break out of an element or an attribute if a page showed it raw.
MARKERS: list[bytes] = [b"<fz-x>", b'"fz-x=1', b"'fz-x=1", b"</title><fz-x>", b"<fz-x>\"fz-x'fz-x"]
HOSTILE: list[bytes] = [
    *MARKERS,
    b"javascript:alert(1)",
    b"//evil.example/",
    b"https://evil.example/cb",
    b"/\\evil.example",
    b"\\\\evil.example",
    b"https://rp.example/callback.evil.example",
    b"https://rp.example/callback/../x",
    b"https://rp.example/callback#frag",
    b"https://rp.example/callback?x=1",
    b"http://127.0.0.1@evil.example/",
    b"\x00",
    b"\r\nX-Fz: 1",
    b"\xff\xfe",
    b"\xc3",
    b"\xed\xa0\x80",
    b"\xe2\x80\xae",
    b"\xef\xbb\xbf",
    b"{{7*7}}",
    b"%(x)s",
    b"%s%n",
    b"../../../../etc/passwd",
    b"null",
    b"[]",
    b"{}",
    b"[[[[",
    b'{"a":',
    b"-1",
    b"1e999",
    b"NaN",
    b"0",
    b"99999999999999999999",
    b" ",
    b"\t",
    b"",
    b"openid",
    b"none",
    b"code",
    b"S256",
    b"plain",
    b"form_post",
    b"fragment",
    b"login consent",
    b"none login",
    b"\xd9\xa1\xd9\xa2",
    b"\xef\xbc\x91",
    b"true",
    b"%",
    b"%zz",
    b"%ff",
    b"+",
    b"&",
    b"=",
]

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=12)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


def text_bytes(max_size: int = 30) -> st.SearchStrategy[bytes]:
    return st.text(max_size=max_size).map(lambda s: s.encode("utf-8"))


def oversized(low: int = 2_000, high: int = 9_000) -> st.SearchStrategy[bytes]:
    return st.builds(
        lambda n, c: (c * n)[:n],
        st.integers(low, high),
        st.sampled_from([b"A", b"\xc3\xa9", b"%", b"<fz-x>", b'"fz-x=1 ']),
    )


def values(oversize: bool = True) -> st.SearchStrategy[bytes]:
    """One parameter value: hostile classics, any text, any bytes (invalid UTF-8), or long."""
    choices = [
        st.sampled_from(HOSTILE),
        st.sampled_from(MARKERS),
        text_bytes(),
        st.binary(max_size=24),
    ]
    if oversize:
        choices.append(oversized())
    return st.one_of(*choices)


def names(known: Sequence[str]) -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.sampled_from([n.encode() for n in known] or [b"x"]),
        st.sampled_from([b"", b'x"', b"\xc3\xa9", b"a[]", b"a[b]", b"__proto__", b"\xff"]),
        text_bytes(8),
    )


Pairs = list[tuple[bytes, bytes]]


@st.composite
def mutated(
    draw: st.DrawFn,
    valid: dict[str, Sequence[bytes]],
    oversize: bool = True,
    sticky: frozenset[str] = frozenset(),
) -> Pairs:
    """`valid` parameters (the first option the likeliest), each kept, dropped, emptied, replaced,
    repeated or made huge, and some unknown or odd ones added; `sticky` ones are mostly kept.
    Two cases in three change one parameter only, so that they get past the first checks."""
    # Hypothesis leans to the simplest draws (zeros, first options): let those be the valid ones.
    wild = draw(st.integers(0, 2)) == 2
    changed = len(valid) - draw(st.integers(0, len(valid)))
    pairs: Pairs = []
    for index, (name, options) in enumerate(valid.items()):
        key = name.encode()
        if wild:
            keep = 12 if name in sticky else 3
            how = draw(st.sampled_from(["keep"] * keep + ["drop", "empty", "hostile", "repeat"]))
        else:
            how = (
                draw(st.sampled_from(["drop", "empty", "hostile", "repeat"]))
                if index == changed
                else "keep"
            )
        value = draw(st.sampled_from(list(options))) if draw(st.integers(0, 2)) == 2 else options[0]
        if how == "keep":
            pairs.append((key, value))
        elif how == "empty":
            pairs.append((key, b""))
        elif how == "hostile":
            pairs.append((key, draw(values(oversize))))
        elif how == "repeat":
            pairs += [(key, value), (key, draw(st.sampled_from([value, *HOSTILE[:8]])))]
    known = [name for name in valid if name not in sticky]
    pairs += draw(st.lists(st.tuples(names(known), values(False)), max_size=3 if wild else 1))
    return draw(st.permutations(pairs)) if len(pairs) < 12 else pairs


def urlencode(pairs: Pairs, raw: bool = False) -> bytes:
    """A form or query; `raw` leaves bytes unescaped (for bodies), which is malformed on purpose."""
    if raw:
        return b"&".join(n + b"=" + v for n, v in pairs)
    return b"&".join(
        quote_from_bytes(n, safe="").encode() + b"=" + quote_from_bytes(v, safe="").encode()
        for n, v in pairs
    )


def multipart(pairs: Pairs, boundary: bytes = b"fz-boundary") -> bytes:
    parts = [
        b"--"
        + boundary
        + b'\r\nContent-Disposition: form-data; name="'
        + n.replace(b'"', b"")
        + b'"\r\n\r\n'
        + v
        + b"\r\n"
        for n, v in pairs
    ]
    return b"".join(parts) + b"--" + boundary + b"--\r\n"


FORM = b"application/x-www-form-urlencoded"


BodySpec = tuple[bytes | None, str, Any]


@st.composite
def bodies(draw: st.DrawFn, pairs: Pairs | None = None) -> Any:
    """How to send parameters as a body, with the right content type or a wrong one: a spec for
    `encode_body`, or with `pairs` the (content type, body) itself. What is drawn never depends
    on the parameters, so a plan can be drawn before they are known."""
    style = draw(
        st.sampled_from(
            [
                *["form"] * 10,
                "raw",
                "multipart",
                "multipart",
                "json",
                "plain",
                "none",
                "broken",
                "huge",
            ]
        )
    )
    ctype: bytes | None = FORM
    extra: Any = None
    if style == "form":
        ctype = draw(
            st.sampled_from(
                [
                    FORM,
                    FORM,
                    b"application/x-www-form-urlencoded; charset=latin-1",
                    b"APPLICATION/X-WWW-FORM-URLENCODED",
                    b"application/x-www-form-urlencoded;;;\xff",
                ]
            )
        )
    elif style == "multipart":
        ctype = b"multipart/form-data; boundary=fz-boundary"
    elif style == "json":
        ctype = b"application/json"
        extra = (draw(st.integers(0, 2)), draw(json_values))
    elif style == "plain":
        ctype = draw(st.sampled_from([b"text/plain", b"application/xml", b"\xff/\xfe"]))
    elif style == "none":
        ctype = None
    elif style == "broken":
        ctype = draw(
            st.sampled_from(
                [
                    b"multipart/form-data",
                    b"multipart/form-data; boundary=",
                    b"multipart/form-data; boundary=x",
                    b"application/json",
                ]
            )
        )
        extra = draw(st.sampled_from([b"--x\r\ngarbage", b"{", b"\xff\xfe\x00", b"--x--", None]))
    elif style == "huge":
        extra = draw(st.integers(66_000, 140_000))
    spec: BodySpec = (ctype, style, extra)
    return spec if pairs is None else (ctype, encode_body(pairs, spec))


def encode_body(pairs: Pairs, spec: BodySpec) -> bytes:
    _, style, extra = spec
    if style == "raw":
        return urlencode(pairs, raw=True)
    if style == "multipart":
        return multipart(pairs)
    if style == "json":
        document: Any = {
            n.decode("utf-8", "replace"): v.decode("utf-8", "replace") for n, v in pairs
        }
        how, value = extra
        document = document if how == 0 else value if how == 1 else {**document, "x": value}
        return json.dumps(document).encode()
    if style == "broken" and extra is not None:
        return bytes(extra)
    if style == "huge":
        return urlencode(pairs) + b"&pad=" + b"a" * int(extra)
    return urlencode(pairs)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def basic_headers(credentials: Sequence[tuple[str, str]]) -> st.SearchStrategy[bytes | None]:
    """Authorization: Basic values, valid or not (bad base64, no colon, odd encodings)."""
    good = [b"Basic " + base64.b64encode(f"{i}:{s}".encode()) for i, s in credentials]
    return st.one_of(
        st.sampled_from(good),
        st.none(),
        st.sampled_from(good),
        st.builds(lambda b: b"Basic " + base64.b64encode(b), st.binary(max_size=40)),
        st.builds(lambda b: b"Basic " + base64.b64encode(b), text_bytes(20)),
        st.builds(
            lambda b: b"Basic " + b,
            st.sampled_from(
                [
                    b"",
                    b"!!!",
                    b"\xe9\xe9",
                    b"YQ",
                    b"YTpi=",
                    b"YTpi====",
                    b"YTpi\n",
                    b"a b c",
                    b"%3A",
                    base64.urlsafe_b64encode(b"\xfb\xff:\xff"),
                    base64.b64encode(b"no-colon"),
                    base64.b64encode(b"demo-rp%3Ax:y"),
                    base64.b64encode(b":"),
                    base64.b64encode(b"\xff:\xff"),
                ]
            ),
        ),
        st.sampled_from([b"basic", b"Basic", b"BASIC  ", b"Bearer x", b"Digest a=b", b"\xff"]),
    )


def _segment_from_json(data: Any) -> str:
    return b64url(json.dumps(data).encode())


segments = st.one_of(
    json_values.map(_segment_from_json),
    st.binary(max_size=40).map(b64url),
    st.sampled_from(
        [
            "",
            "=",
            "!!!",
            "é",
            "a+b/c==",
            "eyJ",
            b64url(b"{"),
            b64url(b"[]"),
            b64url(b'"x"'),
            b64url(b"\xff\xfe"),
            b64url(b"null"),
            "AAAA",
            "A" * 5,
        ]
    ),
)

header_dicts = st.fixed_dictionaries(
    {},
    optional={
        "alg": st.sampled_from(["RS256", "PS256", "ES256", "HS256", "none", "EdDSA", "", "RS1"])
        | json_values,
        "kid": st.sampled_from(["jwt-client-1", "../../x", ""]) | json_values,
        "typ": st.sampled_from(["at+jwt", "JWT", "jwt"]) | json_values,
        "crit": json_values,
        "jku": st.just("https://evil.example/jwks"),
        "b64": st.booleans(),
        "zip": st.just("DEF"),
    },
)


def claim_dicts(issuer: str) -> st.SearchStrategy[dict[str, Any]]:
    now = st.integers(-(10**11), 10**11)
    return st.fixed_dictionaries(
        {},
        optional={
            "iss": st.sampled_from([issuer, "jwt-client", "demo-rp"]) | json_values,
            "sub": st.sampled_from(["jwt-client", "alice"]) | json_values,
            "aud": st.sampled_from([issuer, f"{issuer}/token", [f"{issuer}/token"]]) | json_values,
            "exp": now | json_values,
            "nbf": now | json_values,
            "iat": now | json_values,
            "jti": st.text(max_size=12) | json_values,
            "client_id": st.sampled_from(["demo-rp", "jwt-client"]) | json_values,
            "scope": st.sampled_from(["openid", "openid profile"]) | json_values,
            "gid": json_values,
            "sid": json_values,
        },
    )


def rs256(key: RSAKey, header: dict[str, Any], claims: Any) -> str:
    """A JWT signed with `key` whatever its header and claims say (no library checks)."""
    signing_input = f"{_segment_from_json(header)}.{_segment_from_json(claims)}"
    private = key.private_key
    assert private is not None
    signature = private.sign(  # type: ignore[union-attr, call-arg]
        signing_input.encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    return f"{signing_input}.{b64url(signature)}"


def tampered(token: str) -> st.SearchStrategy[str]:
    """A real token, changed a little."""
    parts = token.split(".")

    def flip(index: int) -> str:
        chars = list(token)
        chars[index] = "A" if chars[index] != "A" else "B"
        return "".join(chars)

    options = [
        st.integers(0, max(len(token) - 1, 0)).map(flip),
        st.just(token + "."),
        st.just(token[:-3]),
        st.just("." + token),
        st.just(token + "=="),
        st.just(token.replace("-", "+").replace("_", "/")),
        st.just(token + " x"),
    ]
    if len(parts) == 3:
        header = json.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
        options += [
            st.just(f"{_segment_from_json({**header, 'alg': 'none'})}.{parts[1]}."),
            st.just(f"{_segment_from_json({**header, 'alg': 'HS256'})}.{parts[1]}.{parts[2]}"),
            st.just(f"{parts[0]}.{parts[1]}"),
            st.just(f"{parts[1]}.{parts[0]}.{parts[2]}"),
        ]
    return st.one_of(*options)


def jwts(issuer: str, key: RSAKey, real: Sequence[str] = ()) -> st.SearchStrategy[str]:
    """Bad JWTs: odd segments and counts, bad base64 and JSON, odd headers and claims signed with
    a real client key, and real tokens tampered with."""
    shaped = st.lists(segments, min_size=1, max_size=5).map(".".join)
    built = st.builds(
        lambda h, c: f"{_segment_from_json(h)}.{_segment_from_json(c)}.{b64url(b'sig')}",
        header_dicts,
        claim_dicts(issuer),
    )
    signed = st.builds(
        lambda h, c: rs256(key, {**h, "alg": "RS256"}, c), header_dicts, claim_dicts(issuer)
    )
    choices = [shaped, built, signed]
    choices += [tampered(token) for token in real]
    return st.one_of(*choices)


def request_headers(
    ctype: bytes | None, extra: dict[str, bytes | None] | None = None
) -> list[tuple[bytes, bytes]]:
    headers: list[tuple[bytes, bytes]] = []
    if ctype is not None:
        headers.append((b"content-type", ctype))
    for name, value in (extra or {}).items():
        if value is not None:
            headers.append((name.encode(), value))
    return headers


# Headers a proxy would set, and a Host that is not ours: no redirect may follow them elsewhere.
proxy_headers = st.fixed_dictionaries(
    {},
    optional={
        "Host": st.sampled_from([b"evil.example", b"127.0.0.1:1", b"\xff", b"a b"]),
        "X-Forwarded-Host": st.sampled_from([b"evil.example", b"\xff"]),
        "X-Forwarded-Proto": st.sampled_from([b"https", b"javascript", b"\xff"]),
        "X-Forwarded-Prefix": st.just(b"//evil.example"),
    },
)

forwarded_for = st.one_of(
    st.ip_addresses(v=4, network="198.18.0.0/15").map(lambda a: str(a).encode()),
    st.ip_addresses(v=6).map(lambda a: str(a).encode()),
    st.sampled_from([b"", b"unknown", b"\xff\xfe", b"1.2.3.4, \x01", b"::zz", b"a" * 500, b",,,"]),
)
