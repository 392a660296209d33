// `billcalc/summary` imported outside a browser: the widget defines the <billcalc-summary>
// custom element and needs the DOM (HTMLElement, customElements). Fail with a sentence instead
// of "HTMLElement is not defined".
throw new Error(
  "billcalc/summary defines the <billcalc-summary> custom element and runs in a browser only. " +
    "In Node, import { Calculator } from 'billcalc' and price carts directly.",
);
