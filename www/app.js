// Placeholder page: prices a sample cart in the browser with the npm package's web build
// ("billcalc" → /pkg/web/index.js through the import map in index.html). All money math happens
// in the engine; this file only turns integer minor units into display strings, exactly (string
// operations, then Intl.NumberFormat on the decimal string; never a float).
import init, { BillcalcError, Calculator, computeQuote, version } from 'billcalc';

const catalog = {
  prices: [
    { id: 'seat_monthly', product: 'prod_seats', currency: 'usd', unit_amount: 1200 },
    {
      id: 'api_calls',
      product: 'prod_api',
      currency: 'usd',
      billing_scheme: 'tiered',
      tiers_mode: 'graduated',
      tiers: [
        { up_to: 1000, unit_amount: 0 },
        { up_to: 10000, unit_amount_decimal: '0.5' },
        { up_to: 'inf', unit_amount_decimal: '0.25' },
      ],
    },
    {
      id: 'storage_gb',
      product: 'prod_storage',
      currency: 'usd',
      billing_scheme: 'tiered',
      tiers_mode: 'volume',
      tiers: [
        { up_to: 50, unit_amount: 30 },
        { up_to: 500, unit_amount: 22 },
        { up_to: 'inf', unit_amount: 15 },
      ],
    },
    {
      id: 'sms_pack',
      product: 'prod_sms',
      currency: 'usd',
      unit_amount: 500,
      transform_quantity: { divide_by: 100, round: 'up' },
    },
    { id: 'support_plan', product: 'prod_support', currency: 'usd', unit_amount: 4900 },
  ],
};

const cart = {
  currency: 'usd',
  lines: [
    { price: 'seat_monthly', quantity: 7, description: 'Seats (per unit, $12.00)' },
    { price: 'api_calls', quantity: 12345, description: 'API calls (graduated: 1,000 free, then 0.5¢, then 0.25¢)' },
    { price: 'storage_gb', quantity: 75, description: 'Storage GB (volume tiers)' },
    { price: 'sms_pack', quantity: 250, description: 'SMS (packages of 100, rounded up)' },
    { price: 'support_plan', quantity: 1, description: 'Support plan' },
  ],
};

const otherCurrencies = [
  { currency: 'eur', unit_amount: 1999, quantity: 3 },
  { currency: 'huf', unit_amount: 123456, quantity: 1 },
  { currency: 'jpy', unit_amount: 1500, quantity: 4 },
  { currency: 'kwd', unit_amount: 12345, quantity: 2 },
];

// --- amounts ------------------------------------------------------------------------------------

/**
 * Minor-unit digits (the ISO 4217 exponent) of the currencies on this page, as in the engine's
 * table (src/currency.rs): amounts are integers in these units. The JS API does not expose the
 * exponent yet, and Intl's currency data (CLDR) is no substitute: it disagrees with ISO 4217 for 16
 * of the engine's currencies (HUF, IDR, COP, PKR, IQD, …), e.g. CLDR shows HUF with 0 digits while
 * 12345 minor units are HUF 123.45. So a currency missing here is an error, never a guess.
 */
const MINOR_UNIT_DIGITS = { usd: 2, eur: 2, huf: 2, jpy: 0, kwd: 3 };
function minorUnitDigits(currency) {
  const digits = MINOR_UNIT_DIGITS[currency.toLowerCase()];
  if (digits === undefined) throw new Error(`no minor-unit digits for ${currency}`);
  return digits;
}

/** Integer minor units → exact decimal string: (123456, 2) → "1234.56", (-5, 3) → "-0.005". */
function minorToDecimalString(minor, digits) {
  if (!Number.isSafeInteger(minor)) throw new RangeError(`not an integer amount: ${minor}`);
  const magnitude = String(Math.abs(minor)).padStart(digits + 1, '0');
  const whole = magnitude.slice(0, magnitude.length - digits);
  const fraction = magnitude.slice(magnitude.length - digits);
  return `${minor < 0 ? '-' : ''}${whole}${digits > 0 ? `.${fraction}` : ''}`;
}

const formatters = new Map();
/**
 * Formats integer minor units: exact decimal string, then Intl.NumberFormat, which formats a
 * string operand exactly (no float) with the currency's own digits, not CLDR's.
 */
function formatMoney(minor, currency) {
  const code = currency.toUpperCase();
  if (!formatters.has(code)) {
    const digits = minorUnitDigits(code);
    const nf = new Intl.NumberFormat(undefined, {
      style: 'currency',
      currency: code,
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    });
    formatters.set(code, { digits, nf });
  }
  const { digits, nf } = formatters.get(code);
  return nf.format(minorToDecimalString(minor, digits));
}

// --- page ---------------------------------------------------------------------------------------

const $ = (id) => document.getElementById(id);
function row(cells) {
  const tr = document.createElement('tr');
  for (const [text, className] of cells) {
    const td = document.createElement('td');
    td.textContent = text;
    if (className) td.className = className;
    tr.append(td);
  }
  return tr;
}

async function main() {
  const started = performance.now();
  await init();
  const loadedMs = performance.now() - started;

  const calculator = new Calculator(catalog);
  const t0 = performance.now();
  const quote = calculator.quote(cart);
  const quoteMs = performance.now() - t0;

  for (const line of quote.lines) {
    $('lines').append(
      row([
        [line.description ?? line.price ?? ''],
        [line.price ?? 'inline price'],
        [new Intl.NumberFormat().format(line.quantity), 'num'],
        [formatMoney(line.amount, quote.currency), 'num'],
      ]),
    );
  }
  $('subtotal').textContent = formatMoney(quote.subtotal, quote.currency);
  $('total').textContent = formatMoney(quote.total, quote.currency);

  for (const { currency, unit_amount, quantity } of otherCurrencies) {
    const q = computeQuote({ currency, lines: [{ price: { currency, unit_amount }, quantity }] });
    $('currencies').append(
      row([
        [`${q.currency.toUpperCase()} (${quantity} × ${unit_amount} minor units)`],
        [String(minorUnitDigits(q.currency))],
        [String(q.total), 'num'],
        [formatMoney(q.total, q.currency), 'num'],
      ]),
    );
  }

  // A bad input throws BillcalcError (code + path); the module keeps working afterwards.
  try {
    computeQuote({ currency: 'usd', lines: [{ price: 'seat_monthly', qty: 2 }] });
  } catch (e) {
    if (!(e instanceof BillcalcError)) throw e;
    const after = calculator.quote(cart).total === quote.total ? 'the next call still works' : 'the next call FAILED';
    $('error-demo').textContent = `computeQuote with a misspelled field → BillcalcError ${e.code} at "${e.path}": ${e.message} (${after}).`;
  }
  calculator.free();

  $('status').textContent =
    `billcalc ${version()} · WebAssembly loaded in ${loadedMs.toFixed(0)} ms · ` +
    // Browsers coarsen performance.now() (to 0.1 ms without cross-origin isolation).
    `quote computed in ${quoteMs < 0.1 ? 'under 0.1' : quoteMs.toFixed(1)} ms`;
  $('cart').hidden = false;
}

main().catch((e) => {
  $('status').className = 'meta error';
  $('status').textContent = `Failed: ${e instanceof BillcalcError ? `${e.code} at "${e.path}": ` : ''}${e?.message ?? e}`;
  console.error(e);
});
