'use strict';
/* The window's UI. Everything real happens in Python through window.pywebview.api (see api.py). */
const $ = (id) => document.getElementById(id);
const api = () => window.pywebview.api;
let currentJob = null;
let shown = 0;
let thresholds = null;
const VERDICT_TEXT = { likely_ai: 'likely AI', uncertain: 'uncertain', likely_real: 'likely real' };

function toast(msg) {
  const t = $('toast');
  t.textContent = msg;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 3500);
}
window.sentryToast = toast;

function verdictOf(r) {
  if (r.error) return 'error';
  if (thresholds) return r.score >= thresholds.likely_ai ? 'likely_ai' : r.score <= thresholds.likely_real ? 'likely_real' : 'uncertain';
  return r.verdict;
}

function resultCard(r) {
  const el = document.createElement('article');
  el.className = 'result';
  el.tabIndex = 0;
  const v = verdictOf(r);
  el.dataset.verdict = v;
  if (r.thumbnail) {
    const img = document.createElement('img');
    img.src = r.thumbnail;
    img.alt = r.name || r.path;
    el.appendChild(img);
  }
  const body = document.createElement('div');
  body.className = 'body';
  const name = document.createElement('div');
  name.className = 'name';
  name.textContent = r.name || r.path;
  const badge = document.createElement('span');
  badge.className = `badge ${v}`;
  badge.textContent = v === 'error' ? 'not checked' : VERDICT_TEXT[v];
  body.append(name, badge);
  if (!r.error) {
    const score = document.createElement('span');
    score.className = 'muted';
    score.textContent = `  P(AI) ${r.score.toFixed(2)}`;
    const bar = document.createElement('div');
    bar.className = 'bar';
    const fill = document.createElement('span');
    fill.style.width = `${Math.round(r.score * 100)}%`;
    bar.appendChild(fill);
    body.append(score, bar);
  }
  const why = document.createElement('p');
  why.className = 'why';
  why.textContent = r.error ? r.error.message : r.explanation;
  body.appendChild(why);
  el.appendChild(body);
  const open = () => showDetail(r);
  el.addEventListener('click', open);
  el.addEventListener('keydown', (e) => { if (e.key === 'Enter') open(); });
  return el;
}

async function showDetail(r) {
  const d = $('detail-body');
  d.textContent = '';
  const h = document.createElement('h3');
  h.textContent = `${r.name || r.path}: ${r.error ? 'not checked' : VERDICT_TEXT[verdictOf(r)]}`;
  d.appendChild(h);
  const p = document.createElement('p');
  p.textContent = r.error ? r.error.message : `${r.explanation} (model ${r.model}, pixel score ${Number(r.pixel_score).toFixed(2)})`;
  d.appendChild(p);
  const c = r.compression;
  if (c && c.state !== 'unknown') {
    const file = document.createElement('p');
    file.className = 'muted';
    file.textContent = `File: ${c.format} · ${c.state === 'jpeg' ? `JPEG quality ≈ ${c.jpeg_quality}, ${c.chroma_subsampling}` : c.state}`;
    d.appendChild(file);
  }
  (r.evidence || []).forEach((e) => {
    const li = document.createElement('p');
    li.className = 'muted';
    li.textContent = `${e.source} · ${e.strength} · ${e.detail}`;
    d.appendChild(li);
  });
  $('detail').showModal();
  if (r.path && !r.error) {
    const hm = await api().heatmap(r.path);
    if (hm.dataUrl) {
      const img = document.createElement('img');
      img.src = hm.dataUrl;
      img.alt = 'Heatmap: red tiles look AI-generated, green tiles look real';
      d.appendChild(img);
    }
  }
}

async function poll() {
  if (!currentJob) return;
  const s = await api().job_status(currentJob, shown);
  for (const r of s.results) $('results').appendChild(resultCard(r));
  shown += s.results.length;
  $('progress-bar').max = s.total;
  $('progress-bar').value = s.done;
  $('progress-text').textContent = `${s.done} of ${s.total}${s.cancelled ? ' (cancelled)' : ''}`;
  if (s.error) toast(s.error);
  if (s.finished) {
    $('progress').hidden = true;
    $('export-bar').hidden = false;
    document.body.dataset.jobDone = currentJob;
    refreshStatus();
    return;
  }
  setTimeout(poll, 250);
}

window.sentryShowJob = (started) => {
  if (!started || started.error) { toast(started ? started.error : 'nothing to check'); return; }
  currentJob = started.job;
  shown = 0;
  $('results').textContent = '';
  $('export-bar').hidden = true;
  $('progress').hidden = false;
  poll();
};

window.sentryCheckPaths = async (paths) => window.sentryShowJob(await api().check_paths(paths));

async function refreshStatus() {
  const s = await api().status();
  $('service-pill').textContent = s.running ? `service running · ${s.device}${s.backend ? ' · ' + s.backend : ''}` : 'service stopped';
  $('service-pill').className = `pill ${s.running ? 'running' : ''}`;
  $('svc-status').textContent = s.running ? `running${s.started_here ? ' (started by this app)' : ' (found running)'}` : 'stopped';
  $('svc-port').textContent = s.port;
  $('svc-device').textContent = s.device ? `${s.device}${s.backend ? ` (${s.backend === 'onnx' ? 'ONNX Runtime' : 'PyTorch'})` : ''}` : '—';
  $('svc-model').textContent = s.model ? `${s.model.name} (${s.model.id})` : '—';
  $('svc-log').textContent = (await api().service_log()).join('\n');
}

async function refreshModels() {
  const { active, models } = await api().list_models();
  const box = $('models');
  box.textContent = '';
  models.forEach((m) => {
    const c = document.createElement('div');
    c.className = `card${m.id === active ? ' active' : ''}`;
    const auc = m.metrics && m.metrics.roc_auc !== undefined ? m.metrics.roc_auc.toFixed(3) : '—';
    const acc = m.metrics && m.metrics.balanced_acc !== undefined ? m.metrics.balanced_acc.toFixed(3) : '—';
    c.innerHTML = `<h3></h3><p class="muted"></p><p></p><p class="muted"></p>
      <label class="row"><input type="checkbox" class="eval-pick"> include in evaluation</label>
      <button type="button" class="use">Use</button> <button type="button" class="remove">Remove</button>`;
    c.querySelector('h3').textContent = `${m.name}${m.id === active ? ' — active' : ''}`;
    c.querySelectorAll('p')[0].textContent = `${m.id} · ${m.architecture}${m.format === 'onnx' ? ' · ONNX only (runs on the CPU)' : ''} · ${(m.size_bytes / 1e6).toFixed(1)} MB · ${m.license}${m.builtin ? ' · built in' : ''}`;
    c.querySelectorAll('p')[1].textContent = `Validation: ROC-AUC ${auc}, balanced accuracy ${acc}`;
    const aligned = m.training.aligned_fakes || 0;  // the card's AI count includes the aligned fakes
    const ai = m.training.ai !== undefined ? m.training.ai - aligned : '?';
    const parts = Object.entries(m.parts || {}).map(([role, id]) => `${role}: ${id}`).join(', ');
    c.querySelectorAll('p')[2].textContent = parts
      ? `Fused from ${parts}. ${m.paper}`
      : `Trained on ${m.training.real || '?'} real / ${ai} AI images${aligned ? ` (+${aligned} aligned fakes)` : ''}. ${m.paper}`;
    c.querySelector('.eval-pick').value = m.id;
    c.querySelector('.use').disabled = m.id === active;
    c.querySelector('.use').title = m.id === active ? 'This model is already in use' : '';
    c.querySelector('.use').addEventListener('click', async () => { const r = await api().set_active_model(m.id); if (r.error) toast(r.error); refreshModels(); refreshStatus(); });
    const rm = c.querySelector('.remove');
    rm.disabled = m.builtin;
    rm.title = m.builtin ? 'The built-in model cannot be removed' : '';
    rm.addEventListener('click', async () => { const r = await api().remove_model(m.id); if (r.error) toast(r.error); refreshModels(); });
    box.appendChild(c);
  });
}

async function evalPoll(job) {
  const s = await api().job_status(job, 0);
  $('eval-msg').textContent = `${s.done} of ${s.total} models evaluated`;
  if (!s.finished) { setTimeout(() => evalPoll(job), 500); return; }
  if (s.error) { toast(s.error); return; }
  const out = $('eval-out');
  out.textContent = '';
  const pre = document.createElement('pre');
  pre.className = 'log';
  pre.textContent = s.markdown;
  out.appendChild(pre);
  Object.entries(s.plots || {}).forEach(([name, url]) => {
    const img = document.createElement('img');
    img.src = url;
    img.alt = name;
    img.style.maxWidth = '48%';
    out.appendChild(img);
  });
}

function setupTabs() {
  document.querySelectorAll('nav [role=tab]').forEach((b) => b.addEventListener('click', () => {
    document.querySelectorAll('nav [role=tab]').forEach((x) => x.setAttribute('aria-selected', String(x === b)));
    document.querySelectorAll('.tab').forEach((t) => { t.hidden = t.id !== `tab-${b.dataset.tab}`; });
    if (b.dataset.tab === 'models') refreshModels();
    if (b.dataset.tab === 'service') refreshStatus();
  }));
}

function setupCheck() {
  $('pick-files').addEventListener('click', async () => { const p = await api().pick_paths('files'); if (p.length) window.sentryCheckPaths(p); });
  $('pick-folder').addEventListener('click', async () => { const p = await api().pick_paths('folder'); if (p.length) window.sentryCheckPaths(p); });
  $('cancel').addEventListener('click', () => currentJob && api().cancel_job(currentJob));
  const drop = $('drop');
  ['dragenter', 'dragover'].forEach((e) => drop.addEventListener(e, () => drop.classList.add('over')));
  ['dragleave', 'drop'].forEach((e) => drop.addEventListener(e, () => drop.classList.remove('over')));
  document.addEventListener('paste', async (e) => {
    const item = Array.from(e.clipboardData.items).find((i) => i.type.startsWith('image/'));
    if (!item) return;
    const reader = new FileReader();
    reader.onload = async () => {
      const r = await api().check_image_data(reader.result);
      if (r.error && !r.score) toast(r.error.message || r.error);
      $('results').prepend(resultCard(r));
    };
    reader.readAsDataURL(item.getAsFile());
  });
  for (const fmt of ['csv', 'json']) {
    $(`export-${fmt}`).addEventListener('click', async () => {
      const [path] = await api().pick_paths('files');
      if (!path) return;
      const r = await api().export_results(currentJob, fmt, path);
      $('export-msg').textContent = r.error || `${r.rows} rows written to ${r.written}`;
    });
  }
}

function setupOthers() {
  $('import-model').addEventListener('click', async () => { const r = await api().import_model(null); $('models-msg').textContent = r.error || (r.imported ? `imported ${r.imported}` : ''); refreshModels(); });
  $('eval-pick').addEventListener('click', async () => {
    const ids = Array.from(document.querySelectorAll('.eval-pick:checked')).map((c) => c.value);
    if (!ids.length) { toast('Tick at least one model'); return; }
    const [folder] = await api().pick_paths('folder');
    if (!folder) return;
    const r = await api().evaluate_models(folder, ids);
    if (r.error) toast(r.error); else evalPoll(r.job);
  });
  $('svc-start').addEventListener('click', async () => { $('svc-status').textContent = 'starting…'; const r = await api().start_service(); if (!r.ok) toast(r.error); refreshStatus(); });
  $('svc-stop').addEventListener('click', async () => { const r = await api().stop_service(); if (!r.ok) toast(r.error); refreshStatus(); });
  $('pair').addEventListener('click', async () => { const r = await api().pairing_code(); $('pair-code').textContent = r.code || r.error; });
  $('save-settings').addEventListener('click', async () => {
    const th = $('own-thresholds').checked ? { likely_ai: Number($('th-ai').value), likely_real: Number($('th-real').value) } : null;
    const r = await api().save_settings({ thresholds: th, start_on_login: $('login').checked });
    $('settings-msg').textContent = r.error || 'Saved.';
    if (!r.error) thresholds = r.thresholds;
  });
}

// ---- "Can you tell?" ----
const quiz = { round: null, waiting: false, pending: null };
const pct = (x) => (x === null || x === undefined ? '–' : `${Math.round(x * 100)}%`);

function quizShow(image) {
  $('quiz-img').src = image.dataUrl;
  $('quiz-pos').textContent = `Image ${image.index + 1} of ${image.count}`;
  $('quiz-reveal').hidden = true;
  $('quiz-pos').scrollIntoView({ block: 'nearest' });
  $('quiz-next').hidden = true;
  document.querySelectorAll('.answer').forEach((b) => { b.disabled = false; });
  quiz.waiting = true;
  document.body.dataset.quizState = 'asking';
}

function quizResults(r) {
  const box = $('quiz-results');
  box.replaceChildren();
  const h = document.createElement('h3');
  h.textContent = `Your result on ${r.images} images`;
  const table = document.createElement('table');
  for (const [who, value] of [['You', pct(r.you)], [`The model (${quiz.model})`, pct(r.model)], ['People in the published study', '61.3%']]) {
    const tr = table.insertRow();
    tr.insertCell().textContent = who;
    tr.insertCell().textContent = value;
  }
  box.append(h, table);
  box.hidden = false;
  $('quiz-play').hidden = true;
  document.body.dataset.quizState = 'done';
  document.body.dataset.quizYou = String(r.you);
}

async function quizAnswer(guess) {
  if (!quiz.waiting) return;
  quiz.waiting = false;
  document.querySelectorAll('.answer').forEach((b) => { b.disabled = true; });
  const r = await api().quiz_answer(quiz.round, guess);
  if (r.error) { // the image stays; the person can answer again
    toast(r.error);
    document.querySelectorAll('.answer').forEach((b) => { b.disabled = false; });
    quiz.waiting = true;
    return;
  }
  const reveal = $('quiz-reveal');
  reveal.replaceChildren();
  const verdict = document.createElement('p');
  const mark = document.createElement('span');
  mark.className = r.correct ? 'right' : 'wrong';
  mark.textContent = r.correct ? 'Right' : 'Wrong';
  verdict.append(mark, ` — it is ${r.truth === 'ai' ? 'AI-generated' : 'a real photo'}.`);
  const model = document.createElement('p');
  model.textContent = r.model_verdict
    ? `The model says ${VERDICT_TEXT[r.model_verdict]} (P(AI) ${r.model_score.toFixed(2)})${
      r.model_verdict === 'uncertain' ? `, leaning ${r.model_guess === 'ai' ? 'AI' : 'real'}` : ''}: ${r.model_correct ? 'right' : 'wrong'}.`
    : 'The model could not score it.';
  const why = document.createElement('p');
  why.className = 'muted';
  why.textContent = `${r.explanation} The image: ${r.source}.`;
  reveal.append(verdict, model, why);
  reveal.hidden = false;
  quiz.pending = r;
  $('quiz-next').hidden = false;
  $('quiz-next').textContent = r.next ? 'Next (Enter)' : 'See the result (Enter)';
  reveal.scrollIntoView({ block: 'nearest' }); // below the picture in a short window
  document.body.dataset.quizState = 'revealed';
}

function quizNext() {
  const r = quiz.pending;
  if (!r) return;
  quiz.pending = null;
  if (r.next) quizShow(r.next); else quizResults(r.results);
}

async function quizStart(dataset) {
  $('quiz-msg').textContent = 'drawing a round…';
  const r = await api().quiz_start(dataset || null, Number($('quiz-count').value));
  $('quiz-msg').textContent = r.error || '';
  if (r.error || r.cancelled) return r;
  quiz.round = r.round;
  quiz.model = r.model;
  $('quiz-results').hidden = true;
  $('quiz-play').hidden = false;
  quizShow(r.image);
  return r;
}

function setupQuiz() {
  $('quiz-start').addEventListener('click', () => quizStart(null));
  $('quiz-real').addEventListener('click', () => quizAnswer('real'));
  $('quiz-ai').addEventListener('click', () => quizAnswer('ai'));
  $('quiz-next').addEventListener('click', quizNext);
  $('quiz-export').addEventListener('click', async () => {
    const r = await api().quiz_export_csv(null);
    $('quiz-msg').textContent = r.error || (r.written ? `${r.rounds} rounds written to ${r.written}` : '');
  });
  document.addEventListener('keydown', (e) => {
    if ($('tab-quiz').hidden || e.target.tagName === 'INPUT') return;
    const key = e.key.toLowerCase();
    if (key === 'r') quizAnswer('real');
    else if (key === 'a') quizAnswer('ai');
    else if (key === 'enter' || key === 'arrowright') quizNext();
  });
}
window.sentryQuizStart = quizStart;

window.addEventListener('pywebviewready', async () => {
  setupTabs();
  setupCheck();
  setupQuiz();
  setupOthers();
  const s = await api().get_settings();
  thresholds = s.thresholds;
  $('own-thresholds').checked = Boolean(thresholds);
  // The inputs start from the user's own thresholds, else from the active model's (its card's points).
  const shown = thresholds || s.model_thresholds;
  if (shown) { $('th-ai').value = shown.likely_ai; $('th-real').value = shown.likely_real; }
  $('login').checked = s.start_on_login;
  $('login').disabled = !s.start_on_login_supported;
  refreshStatus();
  setInterval(refreshStatus, 5000);
  document.body.dataset.ready = '1';
});
