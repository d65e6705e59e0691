// Checks one push with the Standard Webhooks reference library (npm `standardwebhooks`):
//   node verify_standard_webhook.js SECRET HEADERS_JSON_FILE BODY_FILE
// HEADERS_JSON_FILE holds {"webhook-id": ..., "webhook-timestamp": ..., "webhook-signature": ...}.
// Exit 0 and "verified" when the library accepts it, 1 with its error otherwise.
// NODE_PATH must name the node_modules folder scripts/npm-deps prints.
const fs = require("fs");
const { Webhook } = require("standardwebhooks");

const [secret, headersFile, bodyFile] = process.argv.slice(2);
const headers = JSON.parse(fs.readFileSync(headersFile, "utf8"));
const body = fs.readFileSync(bodyFile, "utf8");
try {
  new Webhook(secret).verify(body, headers);
  console.log("verified");
} catch (e) {
  console.log("rejected: " + e.message);
  process.exit(1);
}
