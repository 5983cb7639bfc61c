// What the bundle (scripts/build.ts) gives @gitbeaker for the global
// FormData, which it names in `body instanceof FormData` on every request:
// the global is Node's copy of undici, loaded on first use at a cost of
// 12 MB of RSS. The operator sends JSON only, so no body is an instance of
// this class, and it refuses to be built (gitbeaker builds one only to upload
// files, which the operator never does).
export class FormData {
  constructor() {
    throw new Error('gitlab-aws-operator sends no multipart (FormData) requests to GitLab');
  }
}
