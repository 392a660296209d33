// billcalc/messages: what the engine reports by code, said to a shopper in French or English.
// No DOM, no wasm: the widget, the demo pages and shop themes import it, and Node can too.
//
//   import { messages } from 'billcalc/messages';
//   const t = messages('fr-FR');            // any locale; French for fr-*, English otherwise
//   t.error(e)                              // a BillcalcError (or its code) as a sentence
//   t.taxLabel(quote.total_taxes[0], fmt)   // "TVA 20 %", "Autoliquidation", "TPS 5 %"
//   t.rejection(quote.rejected_discounts[0], { money, currency, describe })
//
// The engine speaks in codes (`ErrorCode`, `RejectionReason`, EN 16931 VAT categories,
// `taxability_reason`, `tax_type`, tax note codes); its English `message`/`text` fields are for
// developers' logs. Pages show these sentences instead, so a French page has no English in it.

/** The languages with a catalogue. */
export const LANGUAGES = ['fr', 'en'];

/** `fr` for any French locale (`fr`, `fr-FR`, `fr-CA`…), otherwise `en`. */
export function language(locale) {
  return String(locale ?? '').toLowerCase().split(/[-_]/)[0] === 'fr' ? 'fr' : 'en';
}

const plural = (n, one, many) => (n === 1 ? one : many);

/** One sentence per engine `ErrorCode` (src/types.d.ts). */
const ERRORS = {
  fr: {
    invalid_type: 'Une donnée du panier a un format inattendu.',
    unknown_field: 'Le panier contient un champ inconnu.',
    missing_field: 'Une information obligatoire manque dans le panier.',
    invalid_request: 'Cette demande est incohérente.',
    invalid_amount: 'Un montant n’est pas valable.',
    invalid_quantity: 'La quantité doit être un nombre entier positif.',
    unknown_currency: 'Cette devise n’est pas prise en charge.',
    currency_mismatch: 'Un article n’a pas de prix dans cette devise.',
    unknown_price: 'Un article du panier n’est plus en vente.',
    duplicate_price: 'Le catalogue de la boutique contient deux fois le même prix.',
    invalid_tiers: 'Les paliers de prix de cet article sont incorrects.',
    invalid_price: 'Le prix d’un article est incorrect.',
    invalid_rounding: 'La règle d’arrondi de la boutique est incorrecte.',
    amount_overflow: 'Le montant est trop élevé pour être calculé.',
    invalid_date: 'Une date n’est pas valable.',
    invalid_tax_rate: 'Un taux de taxe est incorrect.',
    unknown_tax_rate: 'Un taux de taxe demandé n’existe pas.',
    invalid_tax_id: 'Ce numéro de TVA n’a pas le format attendu pour ce pays.',
    unknown_tax_category: 'La catégorie fiscale d’un article est inconnue.',
    invalid_coupon: 'Une remise de la boutique est mal définie.',
    unknown_coupon: 'Cette remise n’existe pas.',
    duplicate_coupon: 'Cette remise est déjà appliquée.',
    invalid_promotion_code: 'Un code promotionnel de la boutique est mal défini.',
    duplicate_promotion_code: 'Ce code promotionnel est défini deux fois.',
    invalid_promotion: 'Une promotion de la boutique est mal définie.',
    duplicate_promotion: 'Cette promotion est définie deux fois.',
    duplicate_product: 'Un produit est défini deux fois dans le catalogue.',
    invalid_discount: 'Cette remise ne peut pas s’appliquer ainsi.',
    invalid_subscription: 'Cet abonnement est incohérent.',
    invalid_change: 'Cette modification d’abonnement n’est pas possible.',
    invalid_usage: 'Les consommations déclarées sont incorrectes.',
    no_upcoming_invoice: 'Aucune facture n’est à venir pour cet abonnement.',
    invalid_credit_note: 'Cet avoir n’est pas possible.',
    invalid_schedule: 'Ce calendrier de relances est incorrect.',
    invalid_document: 'Cette facture électronique n’est pas conforme.',
    unsupported_document: 'Ce format de facture électronique n’est pas pris en charge.',
    duplicate_field: 'Une donnée figure deux fois dans la demande.',
    calculator_freed: 'Le calcul n’est plus disponible : rechargez la page.',
  },
  en: {
    invalid_type: 'A value in the cart has an unexpected format.',
    unknown_field: 'The cart contains a field that is not recognised.',
    missing_field: 'Some required information is missing from the cart.',
    invalid_request: 'This request is inconsistent.',
    invalid_amount: 'An amount is not valid.',
    invalid_quantity: 'The quantity must be a positive whole number.',
    unknown_currency: 'This currency is not supported.',
    currency_mismatch: 'An item has no price in this currency.',
    unknown_price: 'An item in the cart is no longer for sale.',
    duplicate_price: 'The shop’s catalog lists the same price twice.',
    invalid_tiers: 'This item’s price tiers are not valid.',
    invalid_price: 'An item’s price is not valid.',
    invalid_rounding: 'The shop’s rounding rule is not valid.',
    amount_overflow: 'The amount is too large to be computed.',
    invalid_date: 'A date is not valid.',
    invalid_tax_rate: 'A tax rate is not valid.',
    unknown_tax_rate: 'A requested tax rate does not exist.',
    invalid_tax_id: 'This VAT number does not have the format of this country.',
    unknown_tax_category: 'An item’s tax category is not known.',
    invalid_coupon: 'A discount of the shop is not set up correctly.',
    unknown_coupon: 'This discount does not exist.',
    duplicate_coupon: 'This discount is already applied.',
    invalid_promotion_code: 'A promotion code of the shop is not set up correctly.',
    duplicate_promotion_code: 'This promotion code is defined twice.',
    invalid_promotion: 'A promotion of the shop is not set up correctly.',
    duplicate_promotion: 'This promotion is defined twice.',
    duplicate_product: 'A product is defined twice in the catalog.',
    invalid_discount: 'This discount cannot be applied this way.',
    invalid_subscription: 'This subscription is inconsistent.',
    invalid_change: 'This subscription change is not possible.',
    invalid_usage: 'The usage reported is not valid.',
    no_upcoming_invoice: 'This subscription has no upcoming invoice.',
    invalid_credit_note: 'This credit note is not possible.',
    invalid_schedule: 'This retry schedule is not valid.',
    invalid_document: 'This electronic invoice is not valid.',
    unsupported_document: 'This electronic invoice format is not supported.',
    duplicate_field: 'A value appears twice in the request.',
    calculator_freed: 'The calculator is no longer available: reload the page.',
  },
};

/** Why a promotion code (or a catalog promotion) did not apply: one per `RejectionReason`. */
const REJECTIONS = {
  fr: {
    unknown_code: () => 'Ce code n’existe pas. Vérifiez l’orthographe.',
    duplicate: () => 'Ce code est déjà dans votre panier.',
    inactive: () => 'Ce code n’est plus actif.',
    not_yet_valid: () => 'Ce code n’est pas encore utilisable.',
    expired: () => 'Ce code a expiré.',
    customer_mismatch: () => 'Ce code est réservé à un autre client.',
    first_time_only: () => 'Ce code est réservé à une première commande.',
    currency_mismatch: (r, { currency }) => `Ce code ne s’applique pas aux paiements en ${currency.toUpperCase()}.`,
    not_applicable_to_cart: () => 'Aucun article de votre panier ne donne droit à ce code.',
    minimum_quantity_not_met: (r) =>
      r.missing_quantity != null
        ? `Ajoutez encore ${r.missing_quantity} ${plural(r.missing_quantity, 'article', 'articles')} pour utiliser ce code.`
        : 'Ajoutez des articles pour utiliser ce code.',
    minimum_not_met: (r, { money }) =>
      r.missing_amount != null
        ? `Ajoutez encore ${money(r.missing_amount)} d’achats pour utiliser ce code.`
        : 'Votre commande n’atteint pas le minimum de ce code.',
    not_combinable: (r, { describe }) =>
      r.conflicts_with?.length
        ? `Ce code ne se cumule pas avec ${r.conflicts_with.map(describe).join(', ')}.`
        : 'Ce code ne se cumule pas avec les autres remises de votre panier.',
    duration_ended: () => 'La période de remise de ce code est terminée.',
  },
  en: {
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
        ? `Add ${r.missing_quantity} more ${plural(r.missing_quantity, 'item', 'items')} to use this code.`
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
  },
};

/** The rejection reasons a catalogue must cover (`RejectionReason` of src/types.d.ts). */
export const REJECTION_REASONS = Object.keys(REJECTIONS.en);
/** The error codes a catalogue must cover (`ErrorCode` of src/types.d.ts). */
export const ERROR_CODES = Object.keys(ERRORS.en);

/** Tax names by the engine's `tax_type` (Canada's in the names Canadians use in French). */
const TAX_NAMES = {
  fr: { vat: 'TVA', gst: 'TPS', hst: 'TVH', pst: 'TVP', qst: 'TVQ', rst: 'TVD', jct: 'Taxe à la consommation', sales_tax: 'Taxe de vente' },
  en: { vat: 'VAT', gst: 'GST', hst: 'HST', pst: 'PST', qst: 'QST', rst: 'RST', jct: 'Consumption tax', sales_tax: 'Sales tax' },
};

/** A zero-tax entry, said by its EN 16931 category (BT-118) instead of a rate. */
const NO_TAX = {
  fr: {
    AE: 'Autoliquidation (TVA due par l’acheteur)',
    K: 'Livraison intracommunautaire, TVA non applicable',
    G: 'Exportation hors UE, TVA non applicable',
    O: 'Hors du champ d’application de la TVA',
    E: 'Exonération de TVA',
    Z: 'TVA à taux zéro',
  },
  en: {
    AE: 'Reverse charge (VAT due by the buyer)',
    K: 'Intra-EU supply, no VAT',
    G: 'Export outside the EU, no VAT',
    O: 'Outside the scope of VAT',
    E: 'VAT exempt',
    Z: 'Zero-rated VAT',
  },
};

/** The engine's territory names (src/tax/territory.rs) in French; English keeps them as they are. */
const TERRITORIES_FR = {
  'Canary Islands': 'îles Canaries', Ceuta: 'Ceuta', Melilla: 'Melilla', 'Åland Islands': 'îles Åland',
  'Büsingen am Hochrhein': 'Büsingen am Hochrhein', Heligoland: 'Heligoland', Livigno: 'Livigno',
  "Campione d'Italia": 'Campione d’Italia', 'Mount Athos': 'mont Athos',
  'French overseas departments and collectivities': 'départements et collectivités d’outre-mer',
  'French overseas countries and territories': 'pays et territoires d’outre-mer', Monaco: 'Monaco',
  'Isle of Man': 'île de Man', Liechtenstein: 'Liechtenstein', 'Northern Ireland': 'Irlande du Nord', Madeira: 'Madère', Azores: 'Açores',
};

/** `taxability_reason` in words, for rates that are charged. */
const TAXABILITY = {
  fr: { standard_rated: 'taux normal', reduced_rated: 'taux réduit', zero_rated: 'taux zéro', product_exempt: 'produit exonéré',
    customer_exempt: 'client exonéré', reverse_charge: 'autoliquidation', not_collecting: 'non collectée', not_subject_to_tax: 'non soumis',
    excluded_territory: 'territoire hors du champ de la TVA de l’UE' },
  en: { standard_rated: 'standard rate', reduced_rated: 'reduced rate', zero_rated: 'zero rate', product_exempt: 'exempt product',
    customer_exempt: 'exempt customer', reverse_charge: 'reverse charge', not_collecting: 'not collected', not_subject_to_tax: 'not subject to tax',
    excluded_territory: 'territory outside EU VAT' },
};

const WORDS = {
  fr: { total: 'Total', discount: 'Remise', included: 'incluse', on: 'sur', inCountry: (c) => c, code: (c) => `Code ${c}`,
    reverseChargeNote: (id) => `Autoliquidation${id ? ` — numéro de TVA ${id}` : ''} : aucune TVA n’est facturée ; vous la déclarez dans votre pays.`,
    intraCommunityNote: (id) => `Livraison intracommunautaire exonérée de TVA (article 262 ter I du CGI)${id ? ` — numéro de TVA ${id}` : ''}.`,
    territoryNote: (name) => `Règles de TVA propres au territoire${name ? ` : ${name}` : ''} (selon le code postal).`,
    taxIdIgnoredNote: (id) => `Le numéro de TVA${id ? ` ${id}` : ''} n’est pas valable : vous êtes facturé comme un particulier.`,
    loading: 'Calcul du total…', cartError: 'Le total ne peut pas être calculé :', catalogError: 'Les prix de la boutique ne sont pas disponibles pour le moment.' },
  en: { total: 'Total', discount: 'Discount', included: 'included', on: 'on', inCountry: (c) => c, code: (c) => `Code ${c}`,
    reverseChargeNote: (id) => `Reverse charge${id ? ` — VAT number ${id}` : ''}: no VAT is charged; you account for it in your country.`,
    intraCommunityNote: (id) => `Intra-Community supply, exempt from VAT (article 138 of Directive 2006/112/EC)${id ? ` — VAT number ${id}` : ''}.`,
    territoryNote: (name) => `VAT rules of the territory${name ? `: ${name}` : ''} (from the postal code).`,
    taxIdIgnoredNote: (id) => `The VAT number${id ? ` ${id}` : ''} is not valid: you are charged as a consumer.`,
    loading: 'Working out the total…', cartError: 'The total cannot be computed:', catalogError: 'The shop’s prices are not available right now.' },
};

/**
 * The catalogue of one locale. `locale` is a BCP 47 tag; numbers (percentages) are formatted for
 * it with Intl, country names with Intl.DisplayNames.
 */
export function messages(locale) {
  const lang = language(locale);
  const words = WORDS[lang];
  const percentFormat = new Intl.NumberFormat(locale || lang, { style: 'unit', unit: 'percent', maximumFractionDigits: 4 });
  let regionNames = null;
  const country = (code) => {
    if (!code) return '';
    try {
      regionNames ??= new Intl.DisplayNames([locale || lang], { type: 'region' });
      return regionNames.of(String(code).toUpperCase()) ?? code;
    } catch {
      return code;
    }
  };
  return {
    language: lang,
    words,
    /** A BillcalcError (or any `{code}`, or a code) as a sentence in this language. */
    error(error) {
      const code = typeof error === 'string' ? error : error?.code;
      return ERRORS[lang][code] ?? (lang === 'fr' ? 'Le calcul a échoué.' : 'The calculation failed.');
    },
    /** One `rejected_discounts` entry. `context`: { money(minor), currency, describe(id) }. */
    rejection(rejection, context) {
      const sentence = REJECTIONS[lang][rejection.reason];
      return sentence ? sentence(rejection, context) : (lang === 'fr' ? 'Ce code ne peut pas s’appliquer ici.' : 'This code cannot be applied here.');
    },
    /** A catalog promotion just out of reach, as an offer; null when there is nothing to say. */
    offer(rejection, name, { money }) {
      if (rejection.reason === 'minimum_not_met' && rejection.missing_amount != null) {
        return lang === 'fr' ? `Plus que ${money(rejection.missing_amount)} d’achats pour profiter de : ${name}.`
          : `Add ${money(rejection.missing_amount)} more to get: ${name}.`;
      }
      if (rejection.reason === 'minimum_quantity_not_met' && rejection.missing_quantity != null) {
        const n = rejection.missing_quantity;
        return lang === 'fr' ? `Plus que ${n} ${plural(n, 'article', 'articles')} pour profiter de : ${name}.`
          : `Add ${n} more ${plural(n, 'item', 'items')} to get: ${name}.`;
      }
      return null;
    },
    /** A percentage from its exact decimal string ("5.5" → "5,5 %" in French). */
    percent: (decimal) => percentFormat.format(decimal),
    /** A country name from its ISO 3166 code, in this locale. */
    country,
    /**
     * The label of one `total_taxes` entry: the tax's name and rate ("TVA 20 %", "TPS 5 %"), or
     * for a zero-tax category what it means ("Autoliquidation (TVA due par l’acheteur)").
     */
    taxLabel(tax) {
      if (tax.taxability_reason === 'excluded_territory') {
        return lang === 'fr' ? 'Territoire hors du champ de la TVA de l’UE, TVA non applicable' : 'Territory outside the EU VAT area, no VAT';
      }
      if (Number(tax.amount) === 0 && NO_TAX[lang][tax.category] && tax.category !== 'S') return NO_TAX[lang][tax.category];
      const name = TAX_NAMES[lang][tax.tax_type] ?? tax.display_name;
      return `${name} ${percentFormat.format(tax.percentage)}${tax.inclusive ? ` (${words.included})` : ''}`;
    },
    /** Where and on what a tax entry applies, in words ("Allemagne · sur 124,20 € · taux réduit"). */
    taxDetail(tax, money) {
      // An export (G), a supply outside the scope (O) or an exempt intra-EU supply (K) has no place of taxation to show.
      const where = ['G', 'O', 'K'].includes(tax.category) ? null : tax.country ?? tax.jurisdiction;
      const reason = tax.category === 'S' && tax.taxability_reason !== 'standard_rated' ? TAXABILITY[lang][tax.taxability_reason] : null;
      return [where && country(where), `${words.on} ${money(tax.taxable_amount)}`, reason].filter(Boolean).join(' · ');
    },
    /** A `tax_notes` entry. */
    note(note) {
      if (note.code === 'reverse_charge') return words.reverseChargeNote(note.customer_tax_id);
      if (note.code === 'intra_community_supply') return words.intraCommunityNote(note.customer_tax_id);
      if (note.code === 'special_territory') return words.territoryNote(lang === 'fr' ? TERRITORIES_FR[note.territory] ?? note.territory : note.territory);
      if (note.code === 'tax_id_ignored') return words.taxIdIgnoredNote(note.customer_tax_id);
      return note.text;
    },
  };
}
