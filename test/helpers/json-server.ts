// The loopback server lives in http-test-server.ts; this path stays for tests that import it here.
export { json, startServer, type RecordedRequest, type RouteHandler as Handler, type TestServer } from './http-test-server.js';
