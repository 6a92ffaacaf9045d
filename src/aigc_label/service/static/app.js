/* aigc-label web page: inspect, label and ingest one file through the service's own API.
 * No framework, no build step, nothing loaded from elsewhere. Every string shown is in
 * STRINGS (zh and en); data from the server is inserted with textContent only. */
"use strict";

const STRINGS = {
  zh: {
    title: "AIGC 标识检查",
    subtitle: "按 GB 45438-2025 读取、添加 AI 生成内容的隐式标识",
    skip: "跳到主要内容",
    switchTo: "English",
    switchLabel: "Switch to English",
    keyTitle: "API 密钥",
    keyHint: "本服务要求 API 密钥；密钥只保存在本标签页中。",
    keyLabel: "API 密钥",
    fileTitle: "1. 选择文件",
    dropHint: "把文件拖到这里，或",
    chooseFile: "选择文件",
    privacy: "文件只发送到本服务，不会上传到别处。",
    resultTitle: "2. 检查结果",
    fileName: "文件",
    format: "格式",
    verdict: "结论",
    promptCaption: "平台应显示的提示（《办法》第六条）",
    fieldsTitle: "隐式标识字段",
    noLabel: "未找到隐式标识。",
    field: "字段",
    value: "值",
    problemsTitle: "问题",
    noProblems: "没有发现问题。",
    labelTitle: "3a. 添加标识（服务提供者）",
    producer: "服务提供者编码",
    producerHint: "27 位编码（PG-20252A），例如 001191440300708461136T1XGW3",
    labelValue: "标识类型",
    label1: "1 — AI 生成",
    label2: "2 — 可能为 AI 生成",
    label3: "3 — 疑似 AI 生成",
    produceId: "内容制作编号（可选）",
    labelButton: "添加标识",
    ingestTitle: "3b. 接入（传播平台）",
    platform: "平台编码",
    declaredAi: "上传者声明含 AI 生成内容",
    ingestButton: "接入",
    ingestUnavailable: "本安装未提供平台接入。",
    downloadTitle: "4. 下载结果",
    download: "下载",
    footer: "aigc-label · 所有内容均由本服务提供",
    verdict_compliant: "合规",
    verdict_noncompliant: "不合规",
    verdict_not_found: "未发现标识",
    verdict_inconclusive: "无法判断",
    sev_error: "错误",
    sev_warning: "警告",
    noPrompt: "无需提示：未发现标识，上传者也未声明。",
    promptFromLabel: "依据：文件中的隐式标识。",
    promptFromDeclared: "依据：上传者的声明。",
    promptFromTraces: "依据：文件中的其他生成痕迹。",
    promptFromIngest: "依据：平台接入的结果。",
    foundIn: "位置：",
    nonstandard: "（非标准位置）",
    inspecting: "正在检查……",
    labeling: "正在添加标识……",
    ingesting: "正在接入……",
    labeledNote: "已添加标识：{name}。上面显示的是新文件的检查结果。",
    ingestedNote: "已接入：{name}。上面显示的是新文件的检查结果。",
    needProducer: "请填写服务提供者编码。",
    needPlatform: "请填写平台编码。",
    err401: "需要有效的 API 密钥。",
    err403: "此 API 密钥没有执行该操作的角色。",
    err413: "文件太大。",
    err501: "本安装不提供此功能。",
    errNetwork: "无法连接服务。",
    errOther: "请求失败。",
    f_Label: "AI 生成合成标识",
    f_ContentProducer: "生成合成服务提供者",
    f_ProduceID: "内容制作编号",
    f_ReservedCode1: "预留字段 1",
    f_ContentPropagator: "内容传播服务提供者",
    f_PropagateID: "内容传播编号",
    f_ReservedCode2: "预留字段 2",
    lv_1: "AI 生成",
    lv_2: "可能为 AI 生成",
    lv_3: "疑似 AI 生成",
  },
  en: {
    title: "AIGC label check",
    subtitle: "Read and add implicit labels for AI-generated content per GB 45438-2025",
    skip: "Skip to main content",
    switchTo: "中文",
    switchLabel: "切换到中文",
    keyTitle: "API key",
    keyHint: "This service needs an API key; it is kept in this tab only.",
    keyLabel: "API key",
    fileTitle: "1. Choose a file",
    dropHint: "Drop a file here, or",
    chooseFile: "Choose a file",
    privacy: "The file is sent to this service only, nowhere else.",
    resultTitle: "2. What the file says",
    fileName: "File",
    format: "Format",
    verdict: "Verdict",
    promptCaption: "Prompt a platform must show (Art. 6 of the Measures)",
    fieldsTitle: "Implicit label fields",
    noLabel: "No implicit label found.",
    field: "Field",
    value: "Value",
    problemsTitle: "Problems",
    noProblems: "No problems found.",
    labelTitle: "3a. Label it (service provider)",
    producer: "Provider code",
    producerHint: "27 characters (PG-20252A), e.g. 001191440300708461136T1XGW3",
    labelValue: "Label value",
    label1: "1 — AI-generated",
    label2: "2 — possibly AI-generated",
    label3: "3 — suspected AI-generated",
    produceId: "Content number (ProduceID, optional)",
    labelButton: "Label",
    ingestTitle: "3b. Ingest it (platform)",
    platform: "Platform code",
    declaredAi: "The uploader declares AI-generated content",
    ingestButton: "Ingest",
    ingestUnavailable: "Platform ingest is not available in this installation.",
    downloadTitle: "4. Download the result",
    download: "Download",
    footer: "aigc-label · everything on this page is served locally",
    verdict_compliant: "Compliant",
    verdict_noncompliant: "Noncompliant",
    verdict_not_found: "No label found",
    verdict_inconclusive: "Inconclusive",
    sev_error: "error",
    sev_warning: "warning",
    noPrompt: "No prompt needed: no label found and nothing declared.",
    promptFromLabel: "Because: the implicit label in the file.",
    promptFromDeclared: "Because: the uploader's declaration.",
    promptFromTraces: "Because: other generation traces in the file.",
    promptFromIngest: "Because: the platform ingest result.",
    foundIn: "Found in: ",
    nonstandard: " (non-standard placement)",
    inspecting: "Inspecting…",
    labeling: "Labeling…",
    ingesting: "Ingesting…",
    labeledNote: "Labeled: {name}. The result above is the new file's.",
    ingestedNote: "Ingested: {name}. The result above is the new file's.",
    needProducer: "Please enter the provider code.",
    needPlatform: "Please enter the platform code.",
    err401: "A valid API key is needed.",
    err403: "This API key lacks the role for that.",
    err413: "The file is too large.",
    err501: "This installation does not offer that.",
    errNetwork: "Cannot reach the service.",
    errOther: "The request failed.",
    f_Label: "AI-generation label",
    f_ContentProducer: "Generation service provider",
    f_ProduceID: "Content number",
    f_ReservedCode1: "Reserved 1",
    f_ContentPropagator: "Propagation service provider",
    f_PropagateID: "Propagation number",
    f_ReservedCode2: "Reserved 2",
    lv_1: "AI-generated",
    lv_2: "possibly AI-generated",
    lv_3: "suspected AI-generated",
  },
};

const FIELDS = ["Label", "ContentProducer", "ProduceID", "ReservedCode1",
  "ContentPropagator", "PropagateID", "ReservedCode2"];
const PREVIEW_KIND = {
  jpeg: "image", png: "image", gif: "image", webp: "image", tiff: "image", heif: "image",
  svg: "image", wav: "audio", mp3: "audio", flac: "audio", ogg: "audio",
  avi: "video", matroska: "video", flv: "video",
};
const CLASS_BY_LABEL = { 1: "confirmed", 2: "possible", 3: "suspected" };
const AI_TRACE = /trainedAlgorithmicMedia/i;

const state = {
  lang: "zh",
  file: null, // the File (or labeled result) being shown
  report: null,
  ingestClass: null, // prompt class returned by the last ingest, if any
  prompts: null,
  previewUrl: null,
  downloadUrl: null,
  note: null, // [key, name] of the last action note
  error: null, // {key, detail}
};

const $ = (id) => document.getElementById(id);

function t(key, vars) {
  let s = (STRINGS[state.lang] && STRINGS[state.lang][key]) || STRINGS.en[key] || key;
  for (const [k, v] of Object.entries(vars || {})) s = s.replace(`{${k}}`, v);
  return s;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

/* ---------- language ---------- */

function setLanguage(lang) {
  state.lang = lang === "en" ? "en" : "zh";
  try { localStorage.setItem("aigc-label-lang", state.lang); } catch (_) { /* private mode */ }
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  document.title = t("title");
  for (const node of document.querySelectorAll("[data-i18n]")) {
    node.textContent = t(node.dataset.i18n);
  }
  const toggle = $("lang-toggle");
  toggle.textContent = t("switchTo");
  toggle.lang = state.lang === "zh" ? "en" : "zh-CN";
  toggle.setAttribute("aria-label", t("switchLabel"));
  $("busy").textContent = "";
  if (state.report) renderReport();
  renderNote();
  renderError();
}

function initialLanguage() {
  let saved = null;
  try { saved = localStorage.getItem("aigc-label-lang"); } catch (_) { /* private mode */ }
  if (saved) return saved;
  return (navigator.language || "zh").toLowerCase().startsWith("zh") ? "zh" : "en";
}

/* ---------- talking to the service ---------- */

function authHeaders() {
  const key = $("api-key").value.trim();
  return key ? { "X-API-Key": key } : {};
}

async function post(path, form) {
  let response;
  try {
    response = await fetch(path, { method: "POST", body: form, headers: authHeaders() });
  } catch (_) {
    throw { key: "errNetwork", detail: "" };
  }
  if (response.ok) return response;
  let detail = "";
  try {
    const body = await response.json();
    detail = `${body.error.code}: ${body.error.message}`;
  } catch (_) {
    detail = `HTTP ${response.status}`;
  }
  const known = { 401: "err401", 403: "err403", 413: "err413", 501: "err501" };
  throw { key: known[response.status] || "errOther", detail };
}

function fileForm(file, fields) {
  const form = new FormData();
  form.append("file", file, file.name || "upload");
  for (const [k, v] of Object.entries(fields || {})) if (v !== "") form.append(k, v);
  return form;
}

function filenameFrom(response, fallback) {
  const cd = response.headers.get("Content-Disposition") || "";
  const star = /filename\*=UTF-8''([^;]+)/i.exec(cd);
  if (star) {
    try { return decodeURIComponent(star[1]); } catch (_) { /* fall through */ }
  }
  const plain = /filename="([^"]+)"/i.exec(cd);
  return plain ? plain[1] : fallback;
}

/* ---------- status, errors ---------- */

function setBusy(key) {
  $("busy").textContent = key ? t(key) : "";
  for (const b of document.querySelectorAll("button[type=submit]")) b.disabled = Boolean(key);
}

function showError(err) {
  state.error = err && err.key ? err : { key: "errOther", detail: String(err) };
  renderError();
}

function renderError() {
  const box = $("error");
  box.replaceChildren();
  if (!state.error) { box.hidden = true; return; }
  box.append(el("strong", {}, t(state.error.key)));
  if (state.error.detail) box.append(" ", el("span", {}, state.error.detail));
  box.hidden = false;
}

function clearError() {
  state.error = null;
  renderError();
}

/* ---------- showing a file ---------- */

function showPreview(file, format) {
  const box = $("preview");
  box.replaceChildren();
  if (state.previewUrl) URL.revokeObjectURL(state.previewUrl);
  state.previewUrl = null;
  const mime = file.type || "";
  const kind = PREVIEW_KIND[format] || (mime.match(/^(image|audio|video)\//) || [])[1];
  if (!kind) return;
  state.previewUrl = URL.createObjectURL(file);
  const attrs = { src: state.previewUrl, id: "preview-media" };
  if (kind === "image") attrs.alt = file.name || "";
  else attrs.controls = "";
  const media = el(kind === "image" ? "img" : kind, attrs);
  media.addEventListener("error", () => media.remove());
  box.append(media);
}

function promptClass(report) {
  if (state.ingestClass === "none") return [null, null];
  if (state.ingestClass) return [state.ingestClass, "promptFromIngest"];
  if (report.label) return [CLASS_BY_LABEL[report.label.Label] || "confirmed", "promptFromLabel"];
  if ($("declared-ai").checked) return ["possible", "promptFromDeclared"];
  if ((report.digital_source_types || []).some((d) => AI_TRACE.test(d))) {
    return ["suspected", "promptFromTraces"];
  }
  return [null, null];
}

function renderPrompt(report) {
  const [cls, why] = promptClass(report);
  const prompt = $("prompt");
  prompt.dataset.promptClass = cls || "none";
  if (!cls || !state.prompts) {
    prompt.textContent = cls ? cls : t("noPrompt");
    prompt.className = cls ? "prompt" : "prompt none";
    $("prompt-note").textContent = "";
    return;
  }
  const text = state.prompts[cls] || { zh: cls, en: cls };
  prompt.className = "prompt";
  prompt.textContent = text[state.lang] || text.zh;
  prompt.lang = state.lang === "zh" ? "zh-CN" : "en";
  $("prompt-note").textContent = t(why);
}

function renderReport() {
  const r = state.report;
  $("result").hidden = false;
  $("actions").hidden = false;
  $("r-file").textContent = r.path;
  $("r-format").textContent = r.format || "—";
  const badge = $("r-verdict");
  badge.textContent = t(`verdict_${r.verdict}`);
  badge.className = `badge ${r.verdict}`;
  badge.dataset.verdict = r.verdict;
  renderPrompt(r);

  const body = $("fields").querySelector("tbody");
  body.replaceChildren();
  $("fields").hidden = !r.label;
  $("no-label").hidden = Boolean(r.label);
  if (r.label) {
    for (const name of FIELDS) {
      const value = r.label[name] || "";
      const shown = name === "Label" && STRINGS.en[`lv_${value}`]
        ? `${value} (${t(`lv_${value}`)})` : value || "—";
      body.append(el("tr", { "data-field": name },
        el("th", { scope: "row" }, name, el("small", {}, t(`f_${name}`))),
        el("td", {}, shown)));
    }
  }
  $("locations").textContent = r.locations.length
    ? t("foundIn") + r.locations.map((l) => l.placement + (l.standard ? "" : t("nonstandard"))).join("; ")
    : "";

  const list = $("problems");
  list.replaceChildren();
  if (!r.problems.length) list.append(el("li", { class: "none" }, t("noProblems")));
  for (const p of r.problems) {
    list.append(el("li", { "data-code": p.code },
      el("span", { class: `sev ${p.severity}` }, t(`sev_${p.severity}`)), " ",
      el("code", {}, p.code), " — ", p.message));
  }
}

async function inspectFile(file) {
  clearError();
  setBusy("inspecting");
  let ok = false;
  try {
    const response = await post("/v1/inspect", fileForm(file));
    state.report = await response.json();
    state.file = file;
    showPreview(file, state.report.format);
    renderReport();
    ok = true;
  } catch (err) {
    showError(err);
  } finally {
    setBusy(null);
  }
  // Announce the outcome to screen readers through the status line.
  if (ok) $("busy").textContent = `${state.report.path}: ${t(`verdict_${state.report.verdict}`)}`;
}

function chooseFile(file) {
  if (!file) return;
  state.ingestClass = null;
  state.note = null;
  renderNote();
  $("download-section").hidden = true;
  inspectFile(file);
}

/* ---------- label / ingest / download ---------- */

function renderNote() {
  if (!state.note) return;
  const [key, name] = state.note;
  $("download-note").textContent = t(key, { name });
}

async function transform(path, fields, busyKey, noteKey) {
  clearError();
  setBusy(busyKey);
  try {
    const response = await post(path, fileForm(state.file, fields));
    const blob = await response.blob();
    const name = filenameFrom(response, state.file.name || "labeled");
    const ingest = response.headers.get("X-AIGC-Ingest");
    const result = new File([blob], name, { type: blob.type || state.file.type });
    if (state.downloadUrl) URL.revokeObjectURL(state.downloadUrl);
    state.downloadUrl = URL.createObjectURL(result);
    const link = $("download-link");
    link.href = state.downloadUrl;
    link.download = name;
    state.note = [noteKey, name];
    renderNote();
    $("download-section").hidden = false;
    setBusy(null);
    state.ingestClass = null;
    if (ingest) {
      try { state.ingestClass = JSON.parse(ingest).class || null; } catch (_) { /* ignore */ }
    }
    await inspectFile(result); // ends busy and announces the new verdict
  } catch (err) {
    setBusy(null);
    showError(err);
  }
}

function onLabel(event) {
  event.preventDefault();
  const producer = $("producer").value.trim();
  if (!producer) { showError({ key: "needProducer", detail: "" }); $("producer").focus(); return; }
  transform("/v1/label", {
    producer, label: $("label-value").value, produce_id: $("produce-id").value.trim(),
  }, "labeling", "labeledNote");
}

function onIngest(event) {
  event.preventDefault();
  const platform = $("platform").value.trim();
  if (!platform) { showError({ key: "needPlatform", detail: "" }); $("platform").focus(); return; }
  transform("/v1/ingest", {
    platform, declared_ai: $("declared-ai").checked ? "true" : "false", language: state.lang,
  }, "ingesting", "ingestedNote");
}

/* ---------- wiring ---------- */

function wireDropZone() {
  const zone = $("drop-zone");
  const input = $("file-input");
  input.addEventListener("change", () => { chooseFile(input.files[0]); input.value = ""; });
  for (const type of ["dragenter", "dragover"]) {
    zone.addEventListener(type, (e) => { e.preventDefault(); zone.classList.add("dragging"); });
  }
  for (const type of ["dragleave", "drop"]) {
    zone.addEventListener(type, () => zone.classList.remove("dragging"));
  }
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    if (e.dataTransfer && e.dataTransfer.files.length) chooseFile(e.dataTransfer.files[0]);
  });
  // A file dropped outside the zone must not make the browser navigate away.
  window.addEventListener("dragover", (e) => e.preventDefault());
  window.addEventListener("drop", (e) => e.preventDefault());
}

async function loadService() {
  try {
    const [health, prompts] = await Promise.all([
      fetch("/healthz").then((r) => r.json()),
      fetch("/v1/prompts").then((r) => r.json()),
    ]);
    state.prompts = prompts;
    $("key-section").hidden = health.auth !== "api_keys";
    $("ingest-unavailable").hidden = health.ingest;
    $("ingest-button").dataset.available = String(health.ingest);
    if (state.report) renderReport();
  } catch (_) {
    showError({ key: "errNetwork", detail: "" });
  }
}

function init() {
  const key = $("api-key");
  try { key.value = sessionStorage.getItem("aigc-label-key") || ""; } catch (_) { /* ignore */ }
  key.addEventListener("change", () => {
    try { sessionStorage.setItem("aigc-label-key", key.value.trim()); } catch (_) { /* ignore */ }
  });
  $("lang-toggle").addEventListener("click", () => setLanguage(state.lang === "zh" ? "en" : "zh"));
  $("key-form").addEventListener("submit", (e) => e.preventDefault());
  $("label-form").addEventListener("submit", onLabel);
  $("ingest-form").addEventListener("submit", onIngest);
  $("declared-ai").addEventListener("change", () => { if (state.report) renderPrompt(state.report); });
  wireDropZone();
  setLanguage(initialLanguage());
  loadService().then(() => { document.body.dataset.ready = "true"; });
}

document.addEventListener("DOMContentLoaded", init);
