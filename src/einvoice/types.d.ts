// `billcalc/einvoice`: EN 16931 e-invoices (CII D16B Factur-X EN 16931 profile, UBL 2.1).
// Amounts in the document model are decimal strings in major units ("12.50"); the engine's
// inputs stay in minor units.

/** An identifier with its scheme: ISO 6523 ICD (`0002` SIREN, `0009` SIRET) or, for electronic addresses, EAS (`EM` e-mail, `0225` SIREN). */
export interface EinvoiceIdentifier { id: string; scheme?: string | null }
export interface EinvoiceAddress {
  line1?: string | null; line2?: string | null; city?: string | null;
  postal_code?: string | null; subdivision?: string | null;
  /** ISO 3166-1 alpha-2 (BT-40 / BT-55 / BT-80). */
  country: string;
}
export interface EinvoiceContact { name?: string | null; phone?: string | null; email?: string | null }
/** Seller (BG-4) or buyer (BG-7). */
export interface EinvoiceParty {
  /** BT-27 / BT-44. */
  name: string;
  trading_name?: string | null;
  /** BT-29 / BT-46: other identifiers (a SIRET next to the SIREN). */
  ids?: EinvoiceIdentifier[];
  /** BT-30 / BT-47: legal registration (SIREN, scheme `0002`). */
  legal_id?: EinvoiceIdentifier | null;
  /** BT-31 / BT-48. */
  vat_id?: string | null;
  /** BT-33 (seller): legal form, share capital, RCS. */
  legal_info?: string | null;
  /** BT-34 / BT-49. */
  electronic_address?: EinvoiceIdentifier | null;
  address: EinvoiceAddress;
  contact?: EinvoiceContact | null;
}
/** BG-13: BT-72 the actual delivery date (`YYYY-MM-DD`), BG-15 the address. */
export interface EinvoiceDelivery { name?: string | null; date?: string | null; address?: EinvoiceAddress | null }
/** BG-14, inclusive dates. */
export interface EinvoicePeriod { start: string; end: string }
/** BG-16: `code` UNTDID 4461 (`48` card, `58` SEPA credit transfer, `59` SEPA direct debit). */
export interface EinvoicePaymentMeans {
  code: string; remittance?: string | null; iban?: string | null; account_name?: string | null;
  bic?: string | null; card_last4?: string | null; card_holder?: string | null;
  mandate?: string | null; creditor_id?: string | null; debited_iban?: string | null;
}
/** BG-1: `subject` UNTDID 4451 (`PMD`, `PMT`, `AAB`, `TXD`…). */
export interface EinvoiceNote { subject?: string | null; text: string }
/** BG-3: the invoice a credit note corrects (BT-25 number, BT-26 date). */
export interface EinvoicePrecedingInvoice { number: string; issue_date?: string | null }

/** What the engine does not know about a document (amounts in minor units). */
export interface DocumentInfo {
  /** BT-1. */
  number: string;
  /** BT-2, `YYYY-MM-DD`. */
  issue_date: string;
  /** BT-9. */
  due_date?: string | null;
  seller: EinvoiceParty;
  buyer: EinvoiceParty;
  delivery?: EinvoiceDelivery | null;
  invoice_period?: EinvoicePeriod | null;
  payment_means?: EinvoicePaymentMeans[];
  /** BT-20. */
  payment_terms?: string | null;
  notes?: EinvoiceNote[];
  buyer_reference?: string | null;
  order_reference?: string | null;
  contract_reference?: string | null;
  /** Required for a credit note. */
  preceding_invoice?: EinvoicePrecedingInvoice | null;
  /** Already paid, minor units (BT-113). */
  amount_paid?: number | null;
  /** French 2026 reform, BT-23: `goods`, `services` or `both`. */
  operation?: "goods" | "services" | "both" | null;
  /** The seller opted for VAT on debits (BT-8 and a `TXD` note). */
  vat_on_debits?: boolean;
  late_payment_penalty?: string | null;
  early_payment_discount?: string | null;
}

/**
 * `writeEinvoice` input: the syntax, the document info, and exactly one of a `computeQuote`
 * input (`quote`), a `previewInvoice` input (`invoice`) or a credit note (`credit_note`: a
 * `creditNote` input and the engine's quote or invoice as issued).
 */
export type EinvoiceWriteInput = { format: "cii" | "ubl"; info: DocumentInfo } & (
  | { quote: QuoteInput; invoice?: never; credit_note?: never }
  | { invoice: PreviewInvoiceInput; quote?: never; credit_note?: never }
  | { credit_note: { input: CreditNoteInput; invoice: Quote | Invoice }; quote?: never; invoice?: never }
);

/** A figure the document states that the engine computes differently. */
export interface EinvoiceDifference {
  /** The business term, e.g. `BT-131`. */
  bt: string;
  /** `lines[2]`, `vat_breakdown[S 20]`, `totals`. */
  path: string;
  /** Decimal strings, major units. */
  stated: string;
  recomputed: string;
}

export interface EinvoiceVerification {
  /** No difference at all. */
  ok: boolean;
  differences: EinvoiceDifference[];
  line_differences: EinvoiceDifference[];
  /** How the document's VAT was rounded: `invoice`, `line` or `inclusive`. */
  tax_rounding_stage: string;
  tax_rounding_mode?: string;
}

/** The EN 16931 document model as read (BT/BG names; amounts as decimal strings). */
export interface EinvoiceDocument {
  number: string;
  /** 380 invoice, 381 credit note. */
  type_code: number;
  issue_date: string;
  currency: string;
  seller: EinvoiceParty;
  buyer: EinvoiceParty;
  preceding_invoices: EinvoicePrecedingInvoice[];
  lines: Array<Record<string, unknown>>;
  vat_breakdown: Array<Record<string, unknown>>;
  totals: {
    line_total: string; tax_exclusive: string; tax_total: string; tax_inclusive: string;
    allowance_total?: string | null; charge_total?: string | null; prepaid?: string | null;
    rounding?: string | null; payable: string;
  };
  [field: string]: unknown;
}

export interface EinvoiceReadResult {
  document: EinvoiceDocument;
  verification: EinvoiceVerification;
}
