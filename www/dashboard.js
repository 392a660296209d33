// The revenue dashboard: KPI tiles, MRR with its movements, churn and retention, cohorts. Every
// figure comes from the server's reports (GET /v1/reports/{mrr,movements,churn,cohorts}, computed
// by the billcalc crate); this page only draws them. Amounts are integers in minor units, turned
// into exact decimal strings by the package's decimalAmount and formatted by Intl.NumberFormat;
// rates are exact decimal strings. Numbers given to Chart.js are for drawing only.
import init, { decimalAmount } from 'billcalc';

const MESSAGES = {
  en: {
    title: 'Revenue', skip: 'Skip to the figures', from: 'From', to: 'To (included)', interval: 'Interval',
    month: 'Month', quarter: 'Quarter', year: 'Year', language: 'Language', key: 'Secret key', show: 'Show',
    kpis: 'Key figures', mrrChart: 'MRR and its movements', churnChart: 'Churn and retention',
    cohorts: 'Cohorts by first paid month', table: 'Table', customersRetained: 'Customers retained',
    revenueRetained: 'Revenue retained',
    definitions: 'Definitions and sources: the billcalc crate’s metrics module (Stripe Billing, ChartMogul, Baremetrics). Amounts exclude tax; each customer’s MRR is rounded once.',
    mrr: 'MRR', arr: 'ARR', customers: 'Paying customers', arpu: 'ARPU', ltv: 'LTV',
    customerChurn: 'Customer churn', revenueChurn: 'Revenue churn', nrr: 'Net revenue retention',
    grr: 'Gross revenue retention', trialConversion: 'Trial conversion', recovery: 'Failed-payment recovery',
    new: 'New', expansion: 'Expansion', reactivation: 'Reactivation', contraction: 'Contraction', churn: 'Churn',
    period: 'Period', mrrStart: 'MRR at start', mrrEnd: 'MRR at end', churned: 'Churned customers',
    trials: 'Trials converted', failed: 'Failed payments', recovered: 'Recovered', cohort: 'Cohort',
    size: 'Customers', movements: 'Movements', none: '—', net: 'net', churnedShort: 'churned', loading: 'Loading…', needKey: 'Enter the secret key to see the reports.',
    meta: (c, s, e) => `${c.toUpperCase()}, ${s} – ${e}, excluding tax`, monthN: (n) => `+${n}`,
  },
  fr: {
    title: 'Revenus', skip: 'Aller aux chiffres', from: 'Du', to: 'Au (inclus)', interval: 'Intervalle',
    month: 'Mois', quarter: 'Trimestre', year: 'Année', language: 'Langue', key: 'Clé secrète', show: 'Afficher',
    kpis: 'Chiffres clés', mrrChart: 'MRR et ses mouvements', churnChart: 'Attrition et rétention',
    cohorts: 'Cohortes par mois du premier paiement', table: 'Tableau', customersRetained: 'Clients conservés',
    revenueRetained: 'Revenu conservé',
    definitions: 'Définitions et sources : le module metrics de la bibliothèque billcalc (Stripe Billing, ChartMogul, Baremetrics). Montants hors taxes ; le MRR de chaque client est arrondi une seule fois.',
    mrr: 'MRR', arr: 'ARR', customers: 'Clients payants', arpu: 'Revenu moyen par client', ltv: 'Valeur vie client',
    customerChurn: 'Attrition clients', revenueChurn: 'Attrition du revenu', nrr: 'Rétention nette du revenu',
    grr: 'Rétention brute du revenu', trialConversion: 'Conversion des essais', recovery: 'Paiements échoués récupérés',
    new: 'Nouveaux', expansion: 'Expansion', reactivation: 'Réactivation', contraction: 'Contraction', churn: 'Attrition',
    period: 'Période', mrrStart: 'MRR au début', mrrEnd: 'MRR à la fin', churned: 'Clients perdus',
    trials: 'Essais convertis', failed: 'Paiements échoués', recovered: 'Récupérés', cohort: 'Cohorte',
    size: 'Clients', movements: 'Mouvements', none: '—', net: 'net', churnedShort: 'perdus', loading: 'Chargement…', needKey: 'Saisissez la clé secrète pour voir les rapports.',
    meta: (c, s, e) => `${c.toUpperCase()}, ${s} – ${e}, hors taxes`, monthN: (n) => `+${n}`,
  },
};
const LOCALES = { en: 'en-US', fr: 'fr-FR' };
const COLORS = { new: '#2563eb', expansion: '#16a34a', reactivation: '#0891b2', contraction: '#f59e0b', churn: '#dc2626', mrr: '#111827' };

const $ = (id) => document.getElementById(id);
const state = { lang: 'en', reports: null, charts: {}, measure: 'customers' };
const t = (key) => MESSAGES[state.lang][key];
const locale = () => LOCALES[state.lang];

function money(minor, currency) {
  if (minor === null || minor === undefined) return t('none');
  return new Intl.NumberFormat(locale(), { style: 'currency', currency: currency.toUpperCase() }).format(decimalAmount(minor, currency));
}
function percent(value) {
  if (value === null || value === undefined) return t('none');
  return new Intl.NumberFormat(locale(), { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(value);
}
function count(n) {
  return new Intl.NumberFormat(locale()).format(n);
}
function periodLabel(date) {
  const interval = state.reports?.mrr.interval ?? 'month';
  const [y, m] = date.split('-').map(Number);
  if (interval === 'year') return String(y);
  if (interval === 'quarter') return `${state.lang === 'fr' ? 'T' : 'Q'}${Math.floor((m - 1) / 3) + 1} ${y}`;
  return new Intl.DateTimeFormat(locale(), { month: 'short', year: 'numeric', timeZone: 'UTC' }).format(new Date(`${date}T00:00:00Z`));
}

/** The months of [from, to] widened to whole intervals: start on an interval's first month,
 * end (exclusive) after an interval's last. */
function alignRange(from, to, interval) {
  const months = { month: 1, quarter: 3, year: 12 }[interval] ?? 1;
  const index = (yyyyMm) => { const [y, m] = yyyyMm.split('-').map(Number); return y * 12 + (m - 1); };
  const date = (i) => `${Math.floor(i / 12)}-${String((i % 12) + 1).padStart(2, '0')}-01`;
  const start = index(from) - (index(from) % months);
  const last = index(to);
  const end = last - (last % months) + months;
  return { start: date(start), end: date(Math.max(end, start + months)) };
}

/** First day of the month `months` away from this month, as YYYY-MM. */
function monthFromNow(months) {
  const d = new Date();
  const m = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + months, 1));
  return m.toISOString().slice(0, 7);
}

async function fetchReport(name, query, key) {
  const response = await fetch(`/v1/reports/${name}?${query}`, { headers: { authorization: `Bearer ${key}` } });
  const body = await response.json();
  if (!response.ok) throw Object.assign(new Error(body.error?.message ?? response.statusText), { code: body.error?.code });
  return body;
}

async function load() {
  const key = $('key').value.trim();
  $('error').hidden = true;
  if (!key) {
    showError(t('needKey'));
    return;
  }
  sessionStorage.setItem('billcalc.dashboard.key', key);
  const { start, end } = alignRange($('start').value, $('end').value, $('interval').value);
  const query = new URLSearchParams({ start, end, interval: $('interval').value }).toString();
  document.body.dataset.state = 'loading';
  $('meta').textContent = t('loading');
  try {
    const [mrr, movements, churn, cohorts] = await Promise.all(
      ['mrr', 'movements', 'churn', 'cohorts'].map((name) => fetchReport(name, query, key)));
    state.reports = { mrr, movements, churn, cohorts, query };
    render();
    document.body.dataset.state = 'ready';
  } catch (error) {
    showError(`${error.code ?? 'error'}: ${error.message}`);
    document.body.dataset.state = 'error';
  }
}

function showError(text) {
  $('error').textContent = text;
  $('error').hidden = false;
  $('meta').textContent = '';
}

function translate() {
  document.documentElement.lang = state.lang;
  for (const el of document.querySelectorAll('[data-i18n]')) {
    const message = t(el.dataset.i18n);
    if (typeof message === 'string') el.textContent = message;
  }
  document.title = `billcalc — ${t('title')}`;
}

function tile(label, value, sub, id) {
  const div = document.createElement('div');
  div.className = 'tile';
  div.dataset.kpi = id;
  div.innerHTML = '<div class="label"></div><div class="value"></div><div class="sub"></div>';
  div.querySelector('.label').textContent = label;
  div.querySelector('.value').textContent = value;
  div.querySelector('.sub').textContent = sub ?? '';
  return div;
}

function table(el, head, rows) {
  el.replaceChildren();
  const thead = el.createTHead().insertRow();
  for (const h of head) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = h;
    thead.append(th);
  }
  const body = el.createTBody();
  for (const row of rows) {
    const tr = body.insertRow();
    row.forEach((cell, i) => {
      const td = i === 0 ? document.createElement('th') : document.createElement('td');
      if (i === 0) td.scope = 'row';
      td.textContent = cell;
      tr.append(td);
    });
  }
}

function render() {
  translate();
  const { mrr, movements, churn, cohorts } = state.reports;
  const currency = mrr.currency;
  const last = mrr.data.at(-1);
  const lastChurn = churn.data.at(-1);
  if (!last) return;
  $('meta').textContent = t('meta')(currency, periodLabel(mrr.start), periodLabel(mrr.data.at(-1).start));
  const when = periodLabel(last.start);
  const net = last.mrr_end - last.mrr_start;
  const kpis = $('kpis');
  kpis.querySelectorAll('.tile').forEach((el) => el.remove());
  kpis.append(
    tile(t('mrr'), money(last.mrr_end, currency), `${net >= 0 ? '+' : '−'}${money(Math.abs(net), currency)} ${t('net')}, ${when}`, 'mrr'),
    tile(t('arr'), money(last.arr, currency), when, 'arr'),
    tile(t('customers'), count(last.customers_end), when, 'customers'),
    tile(t('arpu'), money(last.arpu, currency), when, 'arpu'),
    tile(t('ltv'), money(last.ltv, currency), when, 'ltv'),
    tile(t('customerChurn'), percent(lastChurn.customer_churn_rate), `${count(lastChurn.customers_churned)} ${t('churnedShort')}, ${when}`, 'customer_churn'),
    tile(t('revenueChurn'), percent(lastChurn.revenue_churn_rate), when, 'revenue_churn'),
    tile(t('nrr'), percent(lastChurn.net_revenue_retention), when, 'nrr'),
    tile(t('grr'), percent(lastChurn.gross_revenue_retention), when, 'grr'),
    tile(t('trialConversion'), percent(lastChurn.trial_conversion_rate), `${count(lastChurn.trials_converted)} / ${count(lastChurn.trials_ended)}, ${when}`, 'trial_conversion'),
    tile(t('recovery'), percent(lastChurn.payment_recovery_rate), `${count(lastChurn.payments_recovered)} / ${count(lastChurn.payments_failed)}, ${when}`, 'recovery'),
  );

  const labels = movements.data.map((r) => periodLabel(r.start));
  const major = (minor) => Number(decimalAmount(minor, currency)); // drawing only
  const kinds = ['new', 'expansion', 'reactivation', 'contraction', 'churn'];
  drawChart('mrr', {
    type: 'bar',
    data: {
      labels,
      datasets: [
        ...kinds.map((k) => ({ type: 'bar', label: t(k), data: movements.data.map((r) => major(r[k])), minor: movements.data.map((r) => r[k]), backgroundColor: COLORS[k], stack: 'movements', yAxisID: 'y', order: 2 })),
        { type: 'line', label: t('mrrEnd'), data: movements.data.map((r) => major(r.mrr_end)), minor: movements.data.map((r) => r.mrr_end), borderColor: COLORS.mrr, backgroundColor: COLORS.mrr, yAxisID: 'y1', order: 1, tension: 0.2 },
      ],
    },
    options: chartOptions({
      y: { stacked: true, title: { display: true, text: t('movements') }, ticks: { callback: (v) => compact(v, currency) } },
      y1: { position: 'right', beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: t('mrr') }, ticks: { callback: (v) => compact(v, currency) } },
      x: { stacked: true },
    }, (ctx) => `${ctx.dataset.label}: ${money(ctx.dataset.minor[ctx.dataIndex], currency)}`),
  });
  table($('mrr-table'),
    [t('period'), t('mrrStart'), t('new'), t('expansion'), t('reactivation'), t('contraction'), t('churn'), t('mrrEnd'), t('arr'), t('customers'), t('arpu'), t('ltv')],
    movements.data.map((r, i) => [periodLabel(r.start), ...[r.mrr_start, r.new, r.expansion, r.reactivation, r.contraction, r.churn, r.mrr_end, mrr.data[i].arr].map((v) => money(v, currency)),
      count(mrr.data[i].customers_end), money(mrr.data[i].arpu, currency), money(mrr.data[i].ltv, currency)]));

  const rateLines = [['customerChurn', 'customer_churn_rate', '#dc2626'], ['revenueChurn', 'revenue_churn_rate', '#f59e0b'], ['grr', 'gross_revenue_retention', '#16a34a'], ['nrr', 'net_revenue_retention', '#2563eb']];
  drawChart('churn', {
    type: 'line',
    data: {
      labels: churn.data.map((r) => periodLabel(r.start)),
      datasets: rateLines.map(([label, key, color]) => ({ label: t(label), data: churn.data.map((r) => (r[key] === null ? null : Number(r[key]) * 100)), rates: churn.data.map((r) => r[key]), borderColor: color, backgroundColor: color, spanGaps: true, tension: 0.2 })),
    },
    options: chartOptions({ y: { ticks: { callback: (v) => `${new Intl.NumberFormat(locale()).format(v)} %` } } },
      (ctx) => `${ctx.dataset.label}: ${percent(ctx.dataset.rates[ctx.dataIndex])}`),
  });
  table($('churn-table'),
    [t('period'), t('churned'), t('customerChurn'), t('revenueChurn'), t('grr'), t('nrr'), t('trials'), t('trialConversion'), t('failed'), t('recovered'), t('recovery')],
    churn.data.map((r) => [periodLabel(r.start), `${count(r.customers_churned)} / ${count(r.customers_start)}`, percent(r.customer_churn_rate), percent(r.revenue_churn_rate),
      percent(r.gross_revenue_retention), percent(r.net_revenue_retention), `${count(r.trials_converted)} / ${count(r.trials_ended)}`, percent(r.trial_conversion_rate),
      count(r.payments_failed), count(r.payments_recovered), percent(r.payment_recovery_rate)]));
  renderCohorts(cohorts, currency);
}

function renderCohorts(cohorts, currency) {
  const el = $('cohort-table');
  const rows = new Map();
  let width = 0;
  for (const r of cohorts.data) {
    if (!rows.has(r.cohort)) rows.set(r.cohort, { size: r.customers, cells: [] });
    rows.get(r.cohort).cells[r.index] = r;
    width = Math.max(width, r.index + 1);
  }
  el.replaceChildren();
  const head = el.createTHead().insertRow();
  for (const h of [t('cohort'), t('size'), ...Array.from({ length: width }, (_, i) => t('monthN')(i))]) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = h;
    head.append(th);
  }
  const body = el.createTBody();
  for (const [cohort, row] of rows) {
    const tr = body.insertRow();
    const th = document.createElement('th');
    th.scope = 'row';
    th.textContent = periodLabel(cohort);
    tr.append(th);
    tr.insertCell().textContent = count(row.size);
    for (let i = 0; i < width; i++) {
      const td = tr.insertCell();
      td.className = 'cell';
      const c = row.cells[i];
      if (!c) continue;
      const value = state.measure === 'customers' ? c.customer_retention : c.revenue_retention;
      td.textContent = percent(value);
      td.title = `${count(c.active_customers)} / ${count(row.size)} · ${money(c.mrr, currency)}`;
      td.dataset.customers = c.active_customers;
      td.dataset.mrr = c.mrr;
      const share = value === null ? 0 : Math.min(Number(value), 1); // colour only
      td.style.background = `rgba(37, 99, 235, ${(0.08 + 0.8 * share).toFixed(3)})`;
      td.style.color = share > 0.55 ? '#fff' : '#1d2330';
    }
  }
}

function compact(value, currency) {
  return new Intl.NumberFormat(locale(), { style: 'currency', currency: currency.toUpperCase(), notation: 'compact', maximumFractionDigits: 1 }).format(value);
}

function chartOptions(scales, label) {
  return {
    responsive: true,
    maintainAspectRatio: false,
    animation: false,
    interaction: { mode: 'index', intersect: false },
    scales,
    plugins: { legend: { position: 'bottom', labels: { boxWidth: 12 } }, tooltip: { callbacks: { label } } },
  };
}

function drawChart(name, config) {
  state.charts[name]?.destroy();
  state.charts[name] = new window.Chart($(`${name}-chart`), config);
}

async function main() {
  await init();
  const params = new URLSearchParams(location.hash.slice(1));
  const lang = new URLSearchParams(location.search).get('lang') ?? localStorage.getItem('billcalc.dashboard.lang') ?? (navigator.language.startsWith('fr') ? 'fr' : 'en');
  state.lang = MESSAGES[lang] ? lang : 'en';
  $('lang').value = state.lang;
  $('key').value = params.get('key') ?? sessionStorage.getItem('billcalc.dashboard.key') ?? '';
  if (params.has('key')) history.replaceState(null, '', location.pathname + location.search); // keep the key out of the address bar
  const search = new URLSearchParams(location.search);
  $('start').value = search.get('start') ?? monthFromNow(-12);
  $('end').value = search.get('end') ?? monthFromNow(-1);
  $('interval').value = search.get('interval') ?? 'month';
  translate();
  $('controls').addEventListener('submit', (e) => { e.preventDefault(); load(); });
  $('lang').addEventListener('change', () => {
    state.lang = $('lang').value;
    localStorage.setItem('billcalc.dashboard.lang', state.lang);
    if (state.reports) render(); else translate();
  });
  for (const radio of document.querySelectorAll('input[name="cohort-measure"]')) {
    radio.addEventListener('change', () => {
      state.measure = radio.value;
      if (state.reports) renderCohorts(state.reports.cohorts, state.reports.mrr.currency);
    });
  }
  window.billcalcDashboard = state;
  await load();
}

main();
