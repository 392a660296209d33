// Plain-language sentences for what the engine and the server report by code. Pure functions, no
// DOM: the page imports them, and tests/browser/checkout.test.mjs checks that every
// `RejectionReason` of src/types.d.ts has a sentence here.

/**
 * Why a promotion code (or a catalog promotion) did not apply: one sentence per
 * `rejected_discounts[].reason`. `money(minor)` formats an amount of the quote's currency.
 */
export const REJECTION_MESSAGES = {
  unknown_code: () => 'This code does not exist. Check the spelling.',
  duplicate: () => 'This code is already in your cart.',
  inactive: () => 'This code is no longer active.',
  not_yet_valid: () => 'This code cannot be used yet.',
  expired: () => 'This code has expired.',
  customer_mismatch: () => 'This code is reserved for another customer.',
  first_time_only: () => 'This code is for a first order only.',
  currency_mismatch: (r, { currency }) => `This code cannot be used when paying in ${currency.toUpperCase()}.`,
  not_applicable_to_cart: () => 'None of the products in your cart qualify for this code.',
  minimum_quantity_not_met: (r) =>
    r.missing_quantity != null
      ? `Add ${r.missing_quantity} more ${r.missing_quantity === 1 ? 'item' : 'items'} to use this code.`
      : 'Add more items to use this code.',
  minimum_not_met: (r, { money }) =>
    r.missing_amount != null
      ? `Add ${money(r.missing_amount)} more to your order to use this code.`
      : 'Your order is below this code’s minimum amount.',
  not_combinable: (r, { describe }) =>
    r.conflicts_with?.length
      ? `This code cannot be combined with ${r.conflicts_with.map(describe).join(', ')}.`
      : 'This code cannot be combined with the other discounts in your cart.',
  duration_ended: () => 'This code’s discount period is over.',
};

/** Rejections that will not change with the cart: the page drops such a code after saying why. */
export const FINAL_REJECTIONS = new Set([
  'unknown_code', 'duplicate', 'inactive', 'not_yet_valid', 'expired', 'customer_mismatch', 'first_time_only',
  'duration_ended',
]);

/** The sentence for one `rejected_discounts` entry. */
export function rejectionMessage(rejection, context) {
  const message = REJECTION_MESSAGES[rejection.reason];
  return message ? message(rejection, context) : `This code cannot be applied here (${rejection.reason}).`;
}

/**
 * A catalog promotion that did not apply, said as an offer ("Add 61,00 € more for free
 * shipping"), or null when there is nothing useful to tell the shopper.
 */
export function offerMessage(rejection, name, { money }) {
  if (rejection.reason === 'minimum_not_met' && rejection.missing_amount != null) {
    return `Add ${money(rejection.missing_amount)} more to get: ${name}.`;
  }
  if (rejection.reason === 'minimum_quantity_not_met' && rejection.missing_quantity != null) {
    return `Add ${rejection.missing_quantity} more ${rejection.missing_quantity === 1 ? 'item' : 'items'} to get: ${name}.`;
  }
  return null;
}

/** EN 16931 VAT categories (BT-118), as the breakdown explains them. */
export const VAT_CATEGORIES = {
  S: 'standard or reduced rate',
  Z: 'zero rated',
  E: 'exempt',
  AE: 'reverse charge',
  K: 'intra-EU supply of goods',
  G: 'export outside the EU',
  O: 'outside the scope of VAT',
  L: 'Canary Islands',
  M: 'Ceuta and Melilla',
};

/** `taxability_reason` in words. */
export const TAXABILITY = {
  standard_rated: 'standard rate',
  reduced_rated: 'reduced rate',
  zero_rated: 'zero rate',
  product_exempt: 'exempt product',
  customer_exempt: 'exempt customer',
  reverse_charge: 'reverse charge: the buyer accounts for the VAT',
  not_collecting: 'not collected',
  not_subject_to_tax: 'not subject to tax',
};

/**
 * A failed payment in words. `error` is the server's `{code, message, decline_code, …}`. The
 * reasons banks give for lost or stolen cards are not repeated to the shopper (Stripe's advice):
 * those read as a plain decline.
 */
export function declineMessage(error) {
  switch (error.decline_code ?? error.code) {
    case 'insufficient_funds':
      return 'Your card has insufficient funds.';
    case 'expired_card':
      return 'Your card has expired.';
    case 'incorrect_cvc':
      return 'Your card’s security code is incorrect.';
    case 'processing_error':
      return 'An error occurred while processing your card. Try again.';
    default:
      return 'Your card was declined.';
  }
}
