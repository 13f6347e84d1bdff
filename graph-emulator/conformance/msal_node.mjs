// Runs Microsoft's MSAL for Node against a running msgraph-typed-emulator: the Node recipe of the
// README. Prints one JSON object per line, {"check", "ok", "detail"}; tests/msal_conformance.rs
// asserts every check. Environment: EMU_URL, EMU_TENANT, EMU_IDENTITY_HEADER (App Service's
// IDENTITY_HEADER), NODE_EXTRA_CA_CERTS (the emulator's CA).
// ES modules do not read NODE_PATH: the test copies this file next to the installed node_modules.
import * as msal from "@azure/msal-node";

const url = process.env.EMU_URL.replace(/\/$/, "");
const tenant = process.env.EMU_TENANT;
const authority = `${url}/${tenant}`;
const knownAuthorities = [new URL(url).host];
const scopes = ["https://graph.microsoft.com/.default"];
let failed = 0;

function report(check, ok, detail = "") {
  if (!ok) failed += 1;
  console.log(JSON.stringify({ check, ok: Boolean(ok), detail: String(detail).slice(0, 2000) }));
}

async function check(name, fn) {
  try {
    const [ok, detail] = await fn();
    report(name, ok, detail);
  } catch (e) {
    report(name, false, e && e.stack ? e.stack : e);
  }
}

async function tokenRequests() {
  const counters = await (await fetch(`${url}/_emulator/counters`)).json();
  return counters.token_requests;
}

function app(secret) {
  return new msal.ConfidentialClientApplication({
    auth: {
      clientId: "11111111-1111-4111-8111-111111111111",
      clientSecret: secret,
      authority,
      knownAuthorities,
    },
  });
}

report("msal_node_version", true, msal.version ?? "unknown");

const daemon = app("daemon-secret~emulator");
let first;
await check("node_client_credentials_secret", async () => {
  first = await daemon.acquireTokenByClientCredential({ scopes });
  const users = await fetch(`${url}/v1.0/users?$top=1`, {
    headers: { Authorization: `Bearer ${first.accessToken}` },
  });
  return [users.status === 200, `graph=${users.status} fromCache=${first.fromCache}`];
});

await check("node_cache_hit_no_token_request", async () => {
  const before = await tokenRequests();
  const again = await daemon.acquireTokenByClientCredential({ scopes });
  const after = await tokenRequests();
  return [
    again.fromCache === true && again.accessToken === first.accessToken && before === after,
    `fromCache=${again.fromCache} token requests ${before} -> ${after}`,
  ];
});

await check("node_wrong_secret_error_shape", async () => {
  try {
    await app("not-the-secret").acquireTokenByClientCredential({ scopes });
    return [false, "a token for a wrong secret"];
  } catch (e) {
    const ok = e.errorCode === "invalid_client" && String(e.errorMessage).includes("AADSTS7000215");
    return [ok, `${e.errorCode}: ${e.errorMessage}`];
  }
});

await check("node_managed_identity_app_service", async () => {
  // The App Service variables are read when the application is built.
  process.env.IDENTITY_ENDPOINT = `${url}/msi/token`;
  process.env.IDENTITY_HEADER = process.env.EMU_IDENTITY_HEADER;
  try {
    const mi = new msal.ManagedIdentityApplication({
      managedIdentityIdParams: { userAssignedClientId: "77777777-7777-4777-8777-777777777777" },
    });
    const result = await mi.acquireToken({ resource: "https://graph.microsoft.com" });
    const users = await fetch(`${url}/v1.0/users?$top=1`, {
      headers: { Authorization: `Bearer ${result.accessToken}` },
    });
    return [users.status === 200, `graph=${users.status}`];
  } finally {
    delete process.env.IDENTITY_ENDPOINT;
    delete process.env.IDENTITY_HEADER;
  }
});

process.exit(failed ? 1 : 0);
