// The image's HEALTHCHECK (the slim image has no curl): exit 0 when GET /health on this
// container's source listener answers 200 {"ok":true}, 1 otherwise.
const port = process.env.PORT || '8080';
try {
  const response = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(4000) });
  const body = await response.json();
  process.exit(response.status === 200 && body?.ok === true ? 0 : 1);
} catch {
  process.exit(1);
}
