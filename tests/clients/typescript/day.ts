// The phone's field day through a client generated from the OpenAPI schema:
// openapi-typescript types (generated/schema.d.ts, default settings) and openapi-fetch,
// type-checked with `tsc --noEmit` under `strict`, without a single cast.
//
// Run by tests/integration/test_typescript_client.py against a live server. It reads:
//   QINGSHAN_URL         the server's address
//   QINGSHAN_USERNAME    an inspector, QINGSHAN_PASSWORD their password
//   QINGSHAN_INSPECTION  the id of the inspection they are assigned to
//   QINGSHAN_PHOTOS      two JPEG files, separated by a comma
// and prints one JSON line with what it saw; any surprise throws (exit code 1).

import { readFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/schema.js";

type Problem = components["schemas"]["Problem"];
type PhotoForm = components["schemas"]["PhotoUploadInputRequest"];

function env(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") throw new Error(`${name} is not set`);
  return value;
}

function expect(condition: boolean, what: string, seen?: unknown): asserts condition {
  if (!condition) throw new Error(`${what}: ${JSON.stringify(seen)}`);
}

function problem(error: Problem | undefined, status: number): Problem {
  expect(error !== undefined, `a ${status} problem document was expected`);
  expect(error.status === status, "the problem's status", error);
  return error;
}

// A multipart form as the server reads it. openapi-typescript types a `format: binary` field as a
// string: the file goes in as a binary string (one character per byte) and leaves as a Blob.
function photoForm(body: PhotoForm): FormData {
  const form = new FormData();
  for (const [name, value] of Object.entries(body)) {
    if (value === undefined) continue;
    if (name === "file") {
      form.append(name, new Blob([Buffer.from(String(value), "latin1")], { type: "image/jpeg" }), "photo.jpg");
    } else {
      form.append(name, String(value));
    }
  }
  return form;
}

const base = env("QINGSHAN_URL");
const inspection = Number(env("QINGSHAN_INSPECTION"));
const [formPhoto, tusPhoto] = env("QINGSHAN_PHOTOS")
  .split(",")
  .map((path) => readFileSync(path));
expect(formPhoto !== undefined && tusPhoto !== undefined, "two photos are needed");

const anonymous = createClient<paths>({ baseUrl: base });
const login = await anonymous.POST("/api/v1/auth/token/", {
  body: { username: env("QINGSHAN_USERNAME"), password: env("QINGSHAN_PASSWORD") },
});
expect(login.data !== undefined, "log in", login.error);

const phone = createClient<paths>({
  baseUrl: base,
  headers: { Authorization: `Bearer ${login.data.access}` },
});

// Assignments: the open inspection, with its village and checklist.
const assignments = await phone.GET("/api/v1/assignments/", { params: { query: { page: 1 } } });
expect(assignments.data !== undefined, "assignments", assignments.error);
const assignment = assignments.data.results.find((a) => a.id === inspection);
expect(assignment !== undefined, "the inspection is assigned", assignments.data);
const category = assignment.checklist[0];
expect(category !== undefined, "the checklist has a category", assignment.checklist);
expect(assignment.cases.length === 0, "an ordinary visit carries no case", assignment.cases);

// Check-in on site: the position fixed twenty minutes ago (offline), the request sent now.
const now = new Date().toISOString();
const fixedAt = new Date(Date.now() - 20 * 60 * 1000).toISOString();
const checkIn = await phone.POST("/api/v1/inspections/{id}/check-in/", {
  params: { path: { id: inspection } },
  body: {
    client_uuid: randomUUID(),
    longitude: 119.6353,
    latitude: 30.537,
    accuracy_m: 8,
    fixed_at: fixedAt,
    device_time: now,
  },
});
expect(checkIn.data !== undefined, "check-in", checkIn.error);
expect(checkIn.response.status === 201, "check-in creates", checkIn.response.status);
expect(checkIn.data.flags.length === 0, "no clock skew for an offline fix", checkIn.data.flags);

// A finding naming three photos that have not arrived (one will be lost on the phone).
const byForm = randomUUID();
const byTus = randomUUID();
const lost = randomUUID();
const findingUuid = randomUUID();
const finding = await phone.POST("/api/v1/findings/", {
  body: {
    client_uuid: findingUuid,
    inspection,
    category: category.code,
    description: "垃圾堆放",
    photo_uuids: [byForm, byTus, lost],
  },
});
expect(finding.data !== undefined, "finding", finding.error);

// Submitting now is refused: the problem document lists the photos still to come.
const summary = { summary: "一处问题" };
const early = await phone.POST("/api/v1/inspections/{id}/submit/", {
  params: { path: { id: inspection } },
  body: summary,
});
const pending = problem(early.error, 409);
expect(pending.code === "photos_pending", "photos_pending", pending);
expect(
  (pending.pending_photos ?? []).slice().sort().join() === [byForm, byTus, lost].sort().join(),
  "pending",
  pending,
);

// The first photo as a multipart form (optional fields left out, never sent as null).
const photo = await phone.POST("/api/v1/photos/", {
  body: { file: formPhoto.toString("latin1"), client_uuid: byForm, inspection, device_time: now },
  bodySerializer: photoForm,
});
expect(photo.data !== undefined, "multipart photo", photo.error);
expect(photo.data.client_uuid === byForm && photo.data.case === null, "the photo", photo.data);

// The second through tus: discovery, creation, offset, the bytes.
const tus = { "Tus-Resumable": "1.0.0" } as const;
const discovery = await phone.OPTIONS("/api/v1/uploads/", {});
expect(discovery.response.status === 204, "tus discovery", discovery.error);
expect(Number(discovery.response.headers.get("Tus-Max-Size")) >= tusPhoto.length, "Tus-Max-Size");
const metadata = Object.entries({ client_uuid: byTus, inspection: String(inspection) })
  .map(([key, value]) => `${key} ${Buffer.from(value).toString("base64")}`)
  .join(",");
const created = await phone.POST("/api/v1/uploads/", {
  params: { header: { ...tus, "Upload-Length": tusPhoto.length, "Upload-Metadata": metadata } },
});
expect(created.response.status === 201, "tus creation", created.error);
const location = created.response.headers.get("Location");
expect(location !== null, "Location");
const uploadId = location.replace(/\/$/, "").split("/").pop() ?? "";
const offset = await phone.HEAD("/api/v1/uploads/{id}/", {
  params: { path: { id: uploadId }, header: tus },
});
expect(offset.response.headers.get("Upload-Offset") === "0", "tus offset", offset.error);
const appended = await phone.PATCH("/api/v1/uploads/{id}/", {
  params: { path: { id: uploadId }, header: { ...tus, "Upload-Offset": 0 } },
  body: tusPhoto.toString("latin1"),
  bodySerializer: (bytes?: string) => Buffer.from(bytes ?? "", "latin1"),
  headers: { "Content-Type": "application/offset+octet-stream" },
});
expect(appended.response.status === 204, "tus append", appended.error);
expect(appended.response.headers.get("Qingshan-Photo") === `/api/v1/photos/${byTus}/`, "Qingshan-Photo");

// A tus request without Tus-Resumable (a client whose middleware drops it): 412, as a problem.
const careless = createClient<paths>({
  baseUrl: base,
  headers: { Authorization: `Bearer ${login.data.access}` },
});
careless.use({
  onRequest({ request }) {
    request.headers.delete("Tus-Resumable");
    return request;
  },
});
const versionless = await careless.HEAD("/api/v1/uploads/{id}/", {
  params: { path: { id: uploadId }, header: tus },
});
expect(versionless.response.status === 412, "412 without Tus-Resumable", versionless.response.status);
expect(versionless.response.headers.get("Tus-Version") === "1.0.0", "Tus-Version with a 412");
const versionlessDelete = await careless.DELETE("/api/v1/uploads/{id}/", {
  params: { path: { id: uploadId }, header: tus },
});
const unsupported = problem(versionlessDelete.error, 412);
expect(unsupported.code === "tus_version_unsupported", "tus_version_unsupported", unsupported);

// The lost photo is dropped from the finding, so that submission can go on.
const dropped = await phone.DELETE("/api/v1/findings/{client_uuid}/photos/{photo_uuid}/", {
  params: { path: { client_uuid: findingUuid, photo_uuid: lost } },
});
expect(dropped.data !== undefined, "drop the lost photo", dropped.error);
expect(dropped.data.dropped_photo_uuids.join() === lost, "dropped", dropped.data);

// Submission, and the problem it opened (awaiting review by the organising level before 交办).
const submitted = await phone.POST("/api/v1/inspections/{id}/submit/", {
  params: { path: { id: inspection } },
  body: summary,
});
expect(submitted.data !== undefined, "submission", submitted.error);
expect(submitted.data.status === "submitted", "submitted", submitted.data);

const cases = await phone.GET("/api/v1/cases/", {
  params: { query: { status: ["awaiting_review"], severity: category.default_severity, overdue: false } },
});
expect(cases.data !== undefined, "cases", cases.error);
const opened = cases.data.results[0];
expect(opened !== undefined && cases.data.count === 1, "one case", cases.data);
const detail = await phone.GET("/api/v1/cases/{id}/", { params: { path: { id: opened.id } } });
expect(detail.data !== undefined, "case detail", detail.error);
expect(detail.data.finding.photo_uuids.length === 2, "the case's photos", detail.data.finding);

// A bad token: the error is a Problem too.
const stranger = createClient<paths>({ baseUrl: base, headers: { Authorization: "Bearer bad" } });
const refused = await stranger.GET("/api/v1/cases/", {});
const unauthorised = problem(refused.error, 401);

console.log(
  JSON.stringify({
    assignment: assignment.id,
    pending: pending.code,
    photo: photo.data.client_uuid,
    tus: appended.response.headers.get("Qingshan-Photo"),
    case: detail.data.id,
    case_status: detail.data.status,
    unauthorised: unauthorised.code,
    versionless: unsupported.code,
  }),
);
