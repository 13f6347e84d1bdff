"""Runs Microsoft's MSAL for Python against a running msgraph-typed-emulator.

Prints one JSON object per line, {"check": NAME, "ok": BOOL, "detail": TEXT}; the Rust test
tests/msal_conformance.rs starts the emulator (HTTPS), runs this script and asserts every check.

Environment: EMU_URL (https://127.0.0.1:PORT), EMU_TENANT, EMU_CERT_PEM and EMU_KEY_PEM (the seeded
certificate app's files), EMU_CERT_THUMBPRINT (SHA-1 hex), EMU_IDENTITY_HEADER (the App Service
IDENTITY_HEADER), REQUESTS_CA_BUNDLE (the emulator's CA).
Talks to that URL only.
"""

import base64
import hashlib
import json
import os
import sys
import time
import traceback
import urllib.parse
import uuid

import jwt
import msal
import requests

URL = os.environ["EMU_URL"].rstrip("/")
TENANT = os.environ["EMU_TENANT"]
AUTHORITY = f"{URL}/{TENANT}"
TOKEN_ENDPOINT = f"{AUTHORITY}/oauth2/v2.0/token"
GRAPH_DEFAULT = ["https://graph.microsoft.com/.default"]

DAEMON_ID = "11111111-1111-4111-8111-111111111111"
DAEMON_SECRET = "daemon-secret~emulator"
WEB_API_ID = "22222222-2222-4222-8222-222222222222"
WEB_API_SECRET = "web-api-secret~emulator"
WEB_API_SCOPE = "api://22222222-2222-4222-8222-222222222222/access_as_user"
PUBLIC_ID = "33333333-3333-4333-8333-333333333333"
CERT_APP_ID = "55555555-5555-4555-8555-555555555555"
ADELE = "87d349ed-44d7-43e1-9a83-5f2406dee5bd"
REDIRECT_URI = "http://127.0.0.1:8765/callback"

with open(os.environ["EMU_CERT_PEM"]) as f:
    CERT_PEM = f.read()
with open(os.environ["EMU_KEY_PEM"]) as f:
    KEY_PEM = f.read()
THUMBPRINT = os.environ["EMU_CERT_THUMBPRINT"]

http = requests.Session()
failed = 0


def report(name, ok, detail=""):
    global failed
    if not ok:
        failed += 1
    print(json.dumps({"check": name, "ok": bool(ok), "detail": str(detail)[:2000]}), flush=True)


def check(name):
    def wrap(fn):
        try:
            ok, detail = fn()
        except Exception:  # a failing check must not stop the others
            ok, detail = False, traceback.format_exc()
        report(name, ok, detail)
        return fn

    return wrap


def counters():
    return http.get(f"{URL}/_emulator/counters").json()


def grant_count(grant):
    return counters()["by_grant_type"].get(grant, 0)


def confidential(client_id, credential, **kwargs):
    return msal.ConfidentialClientApplication(
        client_id,
        client_credential=credential,
        authority=AUTHORITY,
        instance_discovery=False,
        validate_authority=False,
        **kwargs,
    )


def graph_get(token, path):
    return http.get(f"{URL}/v1.0/{path}", headers={"Authorization": f"Bearer {token}"})


def der(pem):
    body = "".join(l for l in pem.splitlines() if l and not l.startswith("-----"))
    return base64.b64decode(body)


def b64url(data, pad):
    text = base64.urlsafe_b64encode(data).decode()
    return text if pad else text.rstrip("=")


def assertion(header_name, digest, pad, alg="RS256"):
    """A client assertion built here, to choose the exact thumbprint header form."""
    now = int(time.time())
    claims = {
        "aud": TOKEN_ENDPOINT,
        "iss": CERT_APP_ID,
        "sub": CERT_APP_ID,
        "jti": str(uuid.uuid4()),
        "nbf": now,
        "iat": now,
        "exp": now + 600,
    }
    return jwt.encode(claims, KEY_PEM, algorithm=alg, headers={header_name: b64url(digest, pad)})


report("msal_version", True, msal.__version__)

daemon = confidential(DAEMON_ID, DAEMON_SECRET)
first = {}


@check("client_credentials_secret")
def _():
    result = daemon.acquire_token_for_client(GRAPH_DEFAULT)
    first.update(result)
    if "access_token" not in result:
        return False, result
    status = graph_get(result["access_token"], "users?$top=1").status_code
    return status == 200, f"token_source={result.get('token_source')} graph={status}"


@check("cache_hit_no_token_request")
def _():
    before = counters()["token_requests"]
    result = daemon.acquire_token_for_client(GRAPH_DEFAULT)
    after = counters()["token_requests"]
    ok = (
        result.get("access_token") == first.get("access_token")
        and result.get("token_source") == "cache"
        and before == after
    )
    return ok, f"token_source={result.get('token_source')} token requests {before} -> {after}"


@check("wrong_secret_error_shape")
def _():
    result = confidential(DAEMON_ID, "not-the-secret").acquire_token_for_client(GRAPH_DEFAULT)
    ok = (
        result.get("error") == "invalid_client"
        and 7000215 in result.get("error_codes", [])
        and result.get("error_description", "").startswith("AADSTS7000215")
        and bool(result.get("correlation_id"))
        and bool(result.get("trace_id"))
    )
    return ok, {k: result.get(k) for k in ("error", "error_codes", "correlation_id")}


def certificate_token(credential):
    result = confidential(CERT_APP_ID, credential).acquire_token_for_client(GRAPH_DEFAULT)
    if "access_token" not in result:
        return False, result
    status = graph_get(result["access_token"], "groups?$top=1").status_code
    return status == 200, f"graph={status}"


@check("certificate_x5t_padded_by_msal")
def _():
    # MSAL signs RS256 with x5t from the SHA-1 thumbprint, base64url WITH padding.
    padded = msal.oauth2cli.assertion._encode_thumbprint(THUMBPRINT)
    ok, detail = certificate_token({"private_key": KEY_PEM, "thumbprint": THUMBPRINT})
    return ok and padded.endswith("="), f"x5t={padded} {detail}"


@check("certificate_x5t_s256_padded_by_msal")
def _():
    # With public_certificate, MSAL signs PS256 with x5t#S256 (padded) and x5c.
    return certificate_token({"private_key": KEY_PEM, "public_certificate": CERT_PEM})


@check("certificate_x5t_unpadded")
def _():
    digest = hashlib.sha1(der(CERT_PEM)).digest()
    return certificate_token({"client_assertion": lambda: assertion("x5t", digest, pad=False)})


@check("certificate_x5t_s256_unpadded")
def _():
    digest = hashlib.sha256(der(CERT_PEM)).digest()
    return certificate_token(
        {"client_assertion": lambda: assertion("x5t#S256", digest, pad=False, alg="PS256")}
    )


@check("certificate_wrong_thumbprint_rejected")
def _():
    digest = hashlib.sha1(b"some other certificate").digest()
    app = confidential(CERT_APP_ID, {"client_assertion": lambda: assertion("x5t", digest, pad=True)})
    result = app.acquire_token_for_client(GRAPH_DEFAULT)
    ok = result.get("error") == "invalid_client" and 700027 in result.get("error_codes", [])
    return ok, {k: result.get(k) for k in ("error", "error_codes")}


public = msal.PublicClientApplication(
    PUBLIC_ID, authority=AUTHORITY, instance_discovery=False, validate_authority=False
)
user = {}


@check("auth_code_pkce_with_msal_flow_helpers")
def _():
    flow = public.initiate_auth_code_flow(scopes=[WEB_API_SCOPE], redirect_uri=REDIRECT_URI)
    if "code_verifier" not in flow:
        return False, "MSAL built no PKCE verifier"
    query = urllib.parse.parse_qs(urllib.parse.urlparse(flow["auth_uri"]).query)
    if query.get("code_challenge_method") != ["S256"]:
        return False, f"no S256 challenge in {flow['auth_uri']}"
    answer = http.get(flow["auth_uri"], allow_redirects=False)
    if answer.status_code != 302:
        return False, f"authorize answered {answer.status_code}: {answer.text[:300]}"
    location = urllib.parse.urlparse(answer.headers["Location"])
    auth_response = {k: v[0] for k, v in urllib.parse.parse_qs(location.query).items()}
    result = public.acquire_token_by_auth_code_flow(flow, auth_response)
    user.update(result)
    ok = "access_token" in result and result.get("id_token_claims", {}).get("oid") == ADELE
    return ok, {k: result.get(k) for k in ("error", "error_description", "scope")}


@check("client_info_account_keyed_on_uid_utid")
def _():
    accounts = public.get_accounts()
    expected = f"{ADELE}.{TENANT}"
    raw = user.get("client_info")
    decoded = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))) if raw else None
    ok = (
        len(accounts) == 1
        and accounts[0]["home_account_id"] == expected
        and decoded == {"uid": ADELE, "utid": TENANT}
    )
    return ok, f"accounts={[a['home_account_id'] for a in accounts]} client_info={decoded}"


@check("refresh_with_acquire_token_silent_force_refresh")
def _():
    account = public.get_accounts()[0]
    before = grant_count("refresh_token")
    result = public.acquire_token_silent([WEB_API_SCOPE], account=account, force_refresh=True)
    after = grant_count("refresh_token")
    ok = (
        result is not None
        and "access_token" in result
        and result["access_token"] != user.get("access_token")
        and after == before + 1
    )
    return ok, f"refresh_token grants {before} -> {after}"


@check("on_behalf_of")
def _():
    web_api = confidential(WEB_API_ID, WEB_API_SECRET)
    before = grant_count("urn:ietf:params:oauth:grant-type:jwt-bearer")
    result = web_api.acquire_token_on_behalf_of(
        user_assertion=user["access_token"], scopes=["https://graph.microsoft.com/User.Read"]
    )
    if "access_token" not in result:
        return False, result
    me = graph_get(result["access_token"], "me")
    after = grant_count("urn:ietf:params:oauth:grant-type:jwt-bearer")
    ok = me.status_code == 200 and me.json().get("id") == ADELE and after == before + 1
    return ok, f"/me {me.status_code} obo grants {before} -> {after}"


@check("workload_identity_federation_external_token")
def _():
    # A token of an external issuer (as a Kubernetes service-account token) as the assertion.
    token = os.environ["EMU_FEDERATED_TOKEN"]
    app = confidential(os.environ["EMU_FEDERATED_CLIENT_ID"], {"client_assertion": lambda: token})
    result = app.acquire_token_for_client(GRAPH_DEFAULT)
    if "access_token" not in result:
        return False, result
    return graph_get(result["access_token"], "users?$top=1").status_code == 200, "graph=200"


@check("subject_name_issuer_with_x5c_from_msal")
def _():
    # MSAL sends x5t#S256 and the chain in x5c; the app trusts the subject and issuer only.
    with open(os.environ["EMU_SNI_CHAIN_PEM"]) as f:
        chain = f.read()
    app = confidential(
        os.environ["EMU_SNI_CLIENT_ID"], {"private_key": KEY_PEM, "public_certificate": chain}
    )
    result = app.acquire_token_for_client(GRAPH_DEFAULT)
    if "access_token" not in result:
        return False, result
    return graph_get(result["access_token"], "groups?$top=1").status_code == 200, "graph=200"


def managed_identity_token(identity, env):
    """MSAL's ManagedIdentityClient with only `env` of the managed identity variables set."""
    names = ["IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT", "MSI_ENDPOINT",
             "MSI_SECRET", "IMDS_ENDPOINT", "AZURE_POD_IDENTITY_AUTHORITY_HOST"]
    saved = {n: os.environ.pop(n) for n in names if n in os.environ}
    os.environ.update(env)
    try:
        client = msal.ManagedIdentityClient(identity, http_client=requests.Session())
        return client.acquire_token_for_client(resource="https://graph.microsoft.com")
    finally:
        for n in env:
            os.environ.pop(n, None)
        os.environ.update(saved)


def managed_identity_check(identity, env, expected_oid):
    result = managed_identity_token(identity, env)
    if "access_token" not in result:
        return False, result
    claims = jwt.decode(result["access_token"], options={"verify_signature": False})
    status = graph_get(result["access_token"], "users?$top=1").status_code
    return claims.get("oid") == expected_oid and status == 200, f"oid={claims.get('oid')} graph={status}"


@check("managed_identity_imds_system_assigned")
def _():
    return managed_identity_check(
        msal.SystemAssignedManagedIdentity(),
        {"AZURE_POD_IDENTITY_AUTHORITY_HOST": URL},
        "a6666666-6666-4666-8666-666666666666",
    )


@check("managed_identity_imds_user_assigned_by_client_id")
def _():
    return managed_identity_check(
        msal.UserAssignedManagedIdentity(client_id="77777777-7777-4777-8777-777777777777"),
        {"AZURE_POD_IDENTITY_AUTHORITY_HOST": URL},
        "a7777777-7777-4777-8777-777777777777",
    )


@check("managed_identity_app_service_user_assigned_by_object_id")
def _():
    return managed_identity_check(
        msal.UserAssignedManagedIdentity(object_id="a8888888-8888-4888-8888-888888888888"),
        {"IDENTITY_ENDPOINT": f"{URL}/msi/token", "IDENTITY_HEADER": os.environ["EMU_IDENTITY_HEADER"]},
        "a8888888-8888-4888-8888-888888888888",
    )


sys.exit(1 if failed else 0)
