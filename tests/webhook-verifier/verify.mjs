// Verifies one Saifu webhook with the independent `standardwebhooks` library (npm), the way a
// merchant's Node.js server would. Input on stdin, as JSON:
//   {"secret": "whsec_…", "headers": {"webhook-id": …, "webhook-timestamp": …, "webhook-signature": …}, "body": "…"}
// Output on stdout: {"ok": true, "event": {…}} and exit code 0, or {"ok": false, "error": "…"}
// and exit code 1.
import { Webhook } from "standardwebhooks";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const { secret, headers, body } = JSON.parse(input);
try {
  const event = new Webhook(secret).verify(body, headers);
  process.stdout.write(JSON.stringify({ ok: true, event }));
} catch (err) {
  process.stdout.write(JSON.stringify({ ok: false, error: String(err && err.message) }));
  process.exitCode = 1;
}
