//! Tax arithmetic over the cart: decide each line's rates, then compute and round the amounts at
//! the declared stage. Every rounding goes through the quote's policy; every split (several
//! inclusive rates sharing one backed-out amount, a shipping line following its goods, an
//! invoice-level total spread back over lines) goes through `allocate`.

use super::config::{country, upper, ShippingTax, TaxRateRef, TaxSetup, ValidRate};
use super::group::GroupIndex;
use super::place::{
    decide_automatic, decide_explicit, Applied, Buyer, Decision, LineCategory, Supply,
};
use super::{
    territory, vat_id, AutomaticTax, CustomerTaxId, LineTax, RoundingStage, SharedRate, TaxNote,
    TotalTax, VatCategory,
};
use crate::allocate::allocate;
use crate::customer::TaxExempt;
use crate::error::{Error, ErrorCode, Result};
use crate::money;
use crate::percent::Percent;
use crate::price::TaxBehavior;
use crate::quote::{QuoteContext, QuoteInput, WorkLine};
use crate::rounding::RoundingPolicy;
use rust_decimal::Decimal;
use std::borrow::Cow;

/// The tax result for one line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineTaxes {
    pub taxes: crate::few::Few<LineTax>,
    /// The line's amount without any tax (what remains after inclusive tax is backed out).
    pub net: i64,
    /// What the customer pays for the line: net plus every tax charged.
    pub payable: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxOutcome {
    pub lines: Vec<LineTaxes>,
    pub total_taxes: Vec<TotalTax>,
    pub notes: Vec<TaxNote>,
    pub automatic_tax: AutomaticTax,
    pub rounding_stage: RoundingStage,
    /// The customer's tax ids as read (checked numbers normalised).
    pub customer_tax_ids: Vec<CustomerTaxId>,
    /// Whether tax was backed out of any line's amount (inclusive rates, or inclusive prices
    /// sold to an exempt or reverse-charged customer). Without, every line's net is its base.
    pub backs_out: bool,
}

/// A taxable base with its decision: a line, or one portion of a shipping line.
struct Item<'d> {
    line: usize,
    base: i64,
    decision: Shared<'d, Decision>,
}

/// What an automatic decision depends on: the line's category, supply and inclusiveness.
type AutomaticKey = (String, Supply, bool);

/// A value made for one item, or shared by several (made once per quote).
enum Shared<'d, T> {
    Own(T),
    Borrowed(&'d T),
    Counted(std::rc::Rc<T>),
}

impl<T> std::ops::Deref for Shared<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        match self {
            Shared::Own(t) => t,
            Shared::Borrowed(t) => t,
            Shared::Counted(t) => t,
        }
    }
}

/// Per item, the computed amounts (parallel to the decision's `collected`).
#[derive(Default, Clone)]
struct ItemAmounts {
    net: i64,
    collected: Pairs, // (amount, taxable_amount)
}

/// `(amount, taxable_amount)` per collected rate: inline up to four (a line rarely has more;
/// this spares an allocation per line), on the heap beyond.
#[derive(Clone)]
enum Pairs {
    Inline([(i64, i64); 4], usize),
    Heap(Vec<(i64, i64)>),
}

impl Default for Pairs {
    fn default() -> Pairs {
        Pairs::Inline([(0, 0); 4], 0)
    }
}

impl Pairs {
    fn zeroed(len: usize) -> Pairs {
        if len <= 4 {
            Pairs::Inline([(0, 0); 4], len)
        } else {
            Pairs::Heap(vec![(0, 0); len])
        }
    }
}

impl std::ops::Deref for Pairs {
    type Target = [(i64, i64)];
    fn deref(&self) -> &[(i64, i64)] {
        match self {
            Pairs::Inline(pairs, len) => pairs.get(..*len).unwrap_or_default(),
            Pairs::Heap(pairs) => pairs,
        }
    }
}

impl std::ops::DerefMut for Pairs {
    fn deref_mut(&mut self) -> &mut [(i64, i64)] {
        match self {
            Pairs::Inline(pairs, len) => pairs.get_mut(..*len).unwrap_or_default(),
            Pairs::Heap(pairs) => pairs,
        }
    }
}

const MAX_RATES_PER_LINE: usize = 10;

fn percent_weight(p: Percent) -> i64 {
    // Percentages have at most 4 decimals and are at most 100: exact integers below 10^7.
    (p.0 * Decimal::from(10_000))
        .trunc()
        .mantissa()
        .try_into()
        .unwrap_or(0)
}

/// `amount × pct / 100`, exact.
fn share(amount: Decimal, pct: Percent, path: &str) -> Result<Decimal> {
    money::mul(amount, pct.fraction(), path)
}

/// `amount × pct / 100` rounded by the policy. A percentage is exactly `mantissa / 10^scale`,
/// so the share is exactly `amount × mantissa / 10^(scale + 2)`: rounded as that integer
/// quotient when the product fits an i128 (always for amounts within 2^53 and percentages of at
/// most 100 with 4 decimals), else through the Decimal product.
fn rounded_share(amount: i64, pct: Percent, rounding: &RoundingPolicy, path: &str) -> Result<i64> {
    let exact = i128::from(amount)
        .checked_mul(pct.0.mantissa())
        .zip(crate::rounding::pow10(pct.0.scale() + 2));
    match exact {
        Some((numerator, denominator)) => rounding.round_quotient(numerator, denominator, path),
        None => rounding.round(share(Decimal::from(amount), pct, path)?, path),
    }
}

/// The part of a gross amount that a total inclusive percentage `r` accounts for:
/// `gross × r / (100 + r)`.
fn inclusive_part(gross: i64, r: Decimal, path: &str) -> Result<Decimal> {
    let numerator = money::mul(Decimal::from(gross), r, path)?;
    numerator
        .checked_div(Decimal::ONE_HUNDRED + r)
        .ok_or_else(|| Error::new(ErrorCode::AmountOverflow, path, "amount too large"))
}

fn sum_percent<'a>(ps: impl Iterator<Item = &'a Percent>) -> Decimal {
    ps.map(|p| p.0).sum()
}

/// The rates a line or the quote lists: the setup's own, borrowed (no copy of their strings per
/// quote), or inline ones, checked.
fn resolve_rates<'s>(
    setup: &'s TaxSetup,
    refs: &[TaxRateRef],
    path: &str,
) -> Result<Vec<Cow<'s, ValidRate>>> {
    if refs.len() > MAX_RATES_PER_LINE {
        return Err(Error::new(
            ErrorCode::InvalidRequest,
            path,
            "at most 10 tax rates per line",
        ));
    }
    let rates = refs
        .iter()
        .enumerate()
        .map(|(j, r)| {
            // The path is formatted only when it is needed (this runs for every quote).
            let p = || format!("{path}[{j}]");
            match r {
                TaxRateRef::Id(id) => setup.rates.get(id).map(Cow::Borrowed).ok_or_else(|| {
                    Error::new(ErrorCode::UnknownTaxRate, p(), "no tax rate with this id")
                }),
                TaxRateRef::Inline(rate) => rate.validate(&p()).map(Cow::Owned),
            }
        })
        .collect::<Result<Vec<_>>>()?;
    // The same rate listed twice would be charged twice and merged into one `taxes[]` entry
    // (found by the quote fuzz target): refuse the repeat. At most 10 rates, so pairs are cheap.
    for (j, rate) in rates.iter().enumerate() {
        if rates[..j].contains(rate) {
            return Err(Error::new(
                ErrorCode::InvalidTaxRate,
                format!("{path}[{j}]"),
                "this tax rate is already listed for the line",
            ));
        }
    }
    Ok(rates)
}

/// The customer as tax sees them, with VAT numbers checked (format and check digits of
/// `eu_vat`, `gb_vat`, `ch_vat` and `no_vat`). `None` without an address.
fn buyer(
    setup: &TaxSetup,
    context: &QuoteContext,
    notes: &mut Vec<TaxNote>,
    tax_ids: &mut Vec<CustomerTaxId>,
) -> Result<Option<Buyer>> {
    let Some(customer) = context.customer else {
        return Ok(None);
    };
    let Some(address) = &customer.address else {
        return Ok(None);
    };
    let buyer_country = country(&address.country, "customer.address.country")?;
    let territory = territory::locate(&buyer_country, address.postal_code.as_deref());
    // The VAT area whose numbers the customer holds (a Monaco company has a French number).
    let vat_country = match territory.map(|t| t.status) {
        Some(territory::Status::InsideOf(c)) => c,
        _ => buyer_country.as_str(),
    };
    let mut vat = None;
    for (j, id) in customer.tax_ids.iter().enumerate() {
        if !vat_id::is_checked_type(&id.kind) {
            tax_ids.push(CustomerTaxId {
                kind: id.kind.clone(),
                value: id.value.clone(),
            });
            continue;
        }
        let (number, problem) = match vat_id::check(&id.kind, &id.value) {
            Ok(n) if n.country != vat_country => (
                n.normalised,
                Some("the VAT number's country differs from the customer's address"),
            ),
            Ok(n) => (n.normalised, None),
            Err(p) => (vat_id::normalise(&id.value), Some(p.message())),
        };
        match (problem, setup.invalid_tax_id) {
            (None, _) => {
                tax_ids.push(CustomerTaxId {
                    kind: id.kind.clone(),
                    value: number.clone(),
                });
                if id.kind == "eu_vat" {
                    vat = Some(number);
                }
            }
            (Some(message), super::config::InvalidTaxId::Error) => {
                return Err(Error::new(
                    ErrorCode::InvalidTaxId,
                    format!("customer.tax_ids[{j}].value"),
                    message,
                ))
            }
            (Some(_), super::config::InvalidTaxId::TreatAsConsumer) => notes.push(TaxNote {
                code: "tax_id_ignored",
                text: "The VAT number is not valid; the customer is taxed as a consumer",
                customer_tax_id: Some(number),
                territory: None,
            }),
        }
    }
    Ok(Some(Buyer {
        country: buyer_country,
        state: address.state.as_deref().map(upper),
        postal_code: address.postal_code.as_deref().map(upper),
        vat_id: vat,
        exempt: customer.tax_exempt,
        territory,
    }))
}

/// The tax stage. `bases[i]` is line i's taxable amount (after discounts), `categories[i]` its
/// tax category (the line's own, else its product's, else `standard`), `supplies[i]` whether
/// it supplies goods or services (see [`Supply`]).
pub fn apply(
    setup: &TaxSetup,
    input: &QuoteInput,
    context: &QuoteContext,
    lines: &[WorkLine],
    bases: &[i64],
    categories: &[&str],
    supplies: &[Supply],
) -> Result<TaxOutcome> {
    let mut notes = Vec::new();
    let mut customer_tax_ids = Vec::new();
    let buyer = buyer(setup, context, &mut notes, &mut customer_tax_ids)?;
    let exempt = context.customer.map_or(TaxExempt::None, |c| c.tax_exempt);
    let automatic = setup.seller.as_ref();
    let located = automatic.and(buyer.as_ref());
    let date = match (located, context.as_of) {
        (Some(_), Some(as_of)) => super::config::date_number(as_of.date),
        (Some(_), None) => {
            return Err(Error::new(
                ErrorCode::MissingField,
                "as_of",
                "automatic tax needs the quote's as_of date",
            ))
        }
        (None, _) => 0,
    };
    let default_rates = input
        .default_tax_rates
        .as_deref()
        .map(|refs| resolve_rates(setup, refs, "default_tax_rates"))
        .transpose()?;

    let inclusive_of = |line: &WorkLine| match line.terms.tax_behavior {
        TaxBehavior::Inclusive => true,
        TaxBehavior::Exclusive => false,
        TaxBehavior::Unspecified => setup.default_tax_behavior == Some(TaxBehavior::Inclusive),
    };
    let category_of = |line: &WorkLine| categories.get(line.index).copied().unwrap_or("standard");
    let supply_of = |line: &WorkLine| supplies.get(line.index).copied().unwrap_or_default();
    let buyer_country = buyer.as_ref().map(|b| b.country.as_str());
    // A decision depends on the line only through its own rates, or (automatic tax) its
    // category, supply and inclusiveness: the default rates' decision is made once per quote and
    // automatic decisions once per (category, supply, inclusive), then borrowed by every line
    // that shares them (no rate descriptor built per line: issue 12).
    let default_decision = default_rates
        .as_deref()
        .map(|rates| decide_explicit(rates, exempt, buyer_country));
    let automatic_decisions: std::cell::RefCell<Vec<(AutomaticKey, std::rc::Rc<Decision>)>> =
        Default::default();
    let decide = |line: &WorkLine, category: &str, supply: Supply| -> Result<Shared<Decision>> {
        if let Some(refs) = &line.input.tax_rates {
            let own = resolve_rates(setup, refs, &format!("{}.tax_rates", line.path()))?;
            return Ok(Shared::Own(decide_explicit(&own, exempt, buyer_country)));
        }
        if let Some(decision) = &default_decision {
            return Ok(Shared::Borrowed(decision));
        }
        match (automatic, &buyer) {
            (Some(seller), Some(buyer)) => {
                let inclusive = inclusive_of(line);
                let same = |k: &AutomaticKey| k.0 == category && k.1 == supply && k.2 == inclusive;
                if let Some((_, d)) = automatic_decisions.borrow().iter().find(|(k, _)| same(k)) {
                    return Ok(Shared::Counted(d.clone()));
                }
                let decision = std::rc::Rc::new(decide_automatic(
                    setup,
                    seller,
                    buyer,
                    LineCategory::parse(category),
                    supply,
                    inclusive,
                    date,
                    &|| format!("{}.tax_category", line.path()),
                )?);
                // A cart has few distinct categories; past a handful, decide per line.
                let mut cache = automatic_decisions.borrow_mut();
                if cache.len() < 16 {
                    cache.push(((category.to_string(), supply, inclusive), decision.clone()));
                }
                Ok(Shared::Counted(decision))
            }
            _ => Ok(Shared::Own(Decision::default())),
        }
    };

    // The usual checkout (issue 12): every line taxed at the quote's default rates, all of them
    // exclusive and simple, rounded per line. Each line's taxes come straight from its base:
    // what the items, `line_stage` and the merge below give for such lines (the quote tests
    // compare the two paths on random carts), without building them. Any error: the general
    // path again, which reports it where it belongs.
    let direct = match &default_decision {
        Some(decision)
            if setup.rounding_stage == RoundingStage::Line
                && direct_enabled()
                && is_simple(decision)
                && lines.iter().all(|l| l.input.tax_rates.is_none()) =>
        {
            direct_lines(decision, lines.len(), bases, &context.rounding).ok()
        }
        _ => None,
    };
    #[cfg(test)]
    if direct.is_some() {
        DIRECT_RUNS.with(|c| c.set(c.get() + 1));
    }
    let (out, backs_out) = match direct {
        Some(out) => (out, false),
        None => {
            // Goods first; shipping that follows the goods is split over their categories afterwards.
            let mut items = Vec::with_capacity(lines.len());
            let mut follows = Vec::new();
            for (i, line) in lines.iter().enumerate() {
                let base = bases.get(i).copied().unwrap_or(0);
                let category = category_of(line);
                let supply = supply_of(line);
                let decision = match (category, setup.shipping) {
                    ("shipping", _)
                        if line.input.tax_rates.is_some() || default_rates.is_some() =>
                    {
                        decide(line, category, supply)?
                    }
                    ("shipping", ShippingTax::FollowsGoods) => {
                        follows.push(i);
                        continue;
                    }
                    ("shipping", ShippingTax::Taxable) => decide(line, "standard", supply)?,
                    ("shipping", ShippingTax::Exempt) => decide(line, "exempt", supply)?,
                    _ => decide(line, category, supply)?,
                };
                items.push(Item {
                    line: i,
                    base,
                    decision,
                });
            }
            if !follows.is_empty() {
                // Amounts per (category, supply) of what is shipped, in order of first appearance:
                // shipping takes the rate and the place of supply of its goods.
                let mut goods: Vec<((&str, Supply), i64)> = Vec::new();
                for item in &items {
                    let Some(line) = lines.get(item.line) else {
                        continue;
                    };
                    let key = (category_of(line), supply_of(line));
                    if key.0 == "shipping" {
                        continue;
                    }
                    match goods.iter_mut().find(|(k, _)| *k == key) {
                        Some(entry) => entry.1 = money::checked(entry.1 + item.base, "lines")?,
                        None => goods.push((key, item.base)),
                    }
                }
                // Only goods are shipped: services (an online course) take no part of the shipping
                // unless the cart has no goods at all. Credits (negative amounts, on invoices) weigh
                // nothing in the split.
                if goods
                    .iter()
                    .any(|((_, supply), w)| *supply == Supply::Goods && *w > 0)
                {
                    goods.retain(|((_, supply), _)| *supply == Supply::Goods);
                }
                if goods.iter().all(|(_, w)| *w <= 0) {
                    goods = vec![(("standard", Supply::Goods), 1)];
                }
                let weights: Vec<i64> = goods.iter().map(|(_, w)| (*w).max(0)).collect();
                for i in follows {
                    let Some(line) = lines.get(i) else { continue };
                    let base = bases.get(i).copied().unwrap_or(0);
                    let portions = allocate(base, &weights, &line.path())?;
                    for (((category, supply), _), portion) in goods.iter().zip(portions) {
                        items.push(Item {
                            line: i,
                            base: portion,
                            decision: decide(line, category, *supply)?,
                        });
                    }
                }
            }

            let backs_out = items.iter().any(|i| {
                !i.decision.back_out.is_empty()
                    || i.decision.collected.iter().any(|a| a.rate.inclusive)
            });
            // Invoice-level rounding needs every item first; line-level rounding computes each item's
            // amounts as it merges them (no vector of them).
            let invoice_amounts = match setup.rounding_stage {
                RoundingStage::Line => None,
                RoundingStage::Invoice => Some(invoice_stage(&items, &context.rounding, lines)?),
            };

            // Per line: merge the items' taxes (a shipping line's portions at the same rate add up).
            // The rates are shared: a line's tax holds a reference-counted clone.
            let mut out = vec![LineTaxes::default(); lines.len()];
            for (k, item) in items.iter().enumerate() {
                let own;
                let amounts = match &invoice_amounts {
                    Some(all) => match all.get(k) {
                        Some(amounts) => amounts,
                        None => continue,
                    },
                    None => {
                        // The path is formatted only on error: the stage is pure, so running it again
                        // with the path reports the same error where it belongs (this runs per line).
                        own = line_stage(item, &context.rounding, "").or_else(|_| {
                            line_stage(item, &context.rounding, &path_of(lines, item))
                        })?;
                        &own
                    }
                };
                let Some(line) = out.get_mut(item.line) else {
                    continue;
                };
                line.net = money::checked(line.net + amounts.net, "lines")?;
                line.payable = money::checked(line.payable + amounts.net, "lines")?;
                for (applied, &(amount, taxable)) in
                    item.decision.collected.iter().zip(amounts.collected.iter())
                {
                    line.payable = money::checked(line.payable + amount, "lines")?;
                    add_tax(&mut line.taxes, &applied.rate, amount, taxable)?;
                }
                if let Some(zero) = &item.decision.zero {
                    add_tax(&mut line.taxes, zero, 0, amounts.net)?;
                }
            }
            (out, backs_out)
        }
    };

    // One entry per rate, in order of first appearance (found by hash: linear in the taxes).
    // Most carts repeat one rate line after line: the previous line's group is compared first,
    // which spares hashing the rate's strings.
    // The index is built only when a rate differs from the previous one (a cart taxed at one
    // rate hashes nothing), from the groups found so far.
    let mut total_taxes: Vec<TotalTax> = Vec::new();
    let mut index: Option<GroupIndex> = None;
    let mut last: Option<usize> = None;
    for tax in out.iter().flat_map(|l| &l.taxes) {
        let same_as_last = last.filter(|&g| total_taxes.get(g).is_some_and(|t| t.rate == tax.rate));
        let (found, hash) = match same_as_last {
            Some(g) => (Some(g), None),
            None if total_taxes.is_empty() => (None, None),
            None => {
                let index = index.get_or_insert_with(|| {
                    let mut index = GroupIndex::new();
                    for (g, t) in total_taxes.iter().enumerate() {
                        let (_, hash) = index.find(&t.rate, |_| false);
                        index.insert(hash, g);
                    }
                    index
                });
                let (found, hash) = index.find(&tax.rate, |g| {
                    total_taxes.get(g).is_some_and(|t| t.rate == tax.rate)
                });
                (found, Some(hash))
            }
        };
        match found {
            Some(g) => {
                last = Some(g);
                let Some(t) = total_taxes.get_mut(g) else {
                    continue;
                };
                t.amount = money::checked(t.amount + tax.amount, "total_taxes")?;
                t.taxable_amount =
                    money::checked(t.taxable_amount + tax.taxable_amount, "total_taxes")?;
            }
            None => {
                total_taxes.push(TotalTax {
                    amount: tax.amount,
                    taxable_amount: tax.taxable_amount,
                    rate: tax.rate.clone(),
                });
                last = Some(total_taxes.len() - 1);
                if let (Some(index), Some(hash)) = (index.as_mut(), hash) {
                    index.insert(hash, total_taxes.len() - 1);
                }
            }
        }
    }
    let has = |category| total_taxes.iter().any(|t| t.rate.category == category);
    let customer_tax_id = || buyer.as_ref().and_then(|b| b.vat_id.clone());
    let mut leading = Vec::new();
    if has(VatCategory::AE) {
        leading.push(TaxNote {
            code: "reverse_charge",
            text: super::place::REVERSE_CHARGE,
            customer_tax_id: customer_tax_id(),
            territory: None,
        });
    }
    if has(VatCategory::K) {
        // The mention the seller's law requires on the invoice (Directive 2006/112/EC
        // Art. 226(11); in France CGI art. 242 nonies A, citing art. 262 ter I).
        let french = automatic.is_some_and(|s| s.country == "FR");
        leading.push(TaxNote {
            code: "intra_community_supply",
            text: if french {
                "Exonération de TVA, article 262 ter I du CGI (livraison intracommunautaire de biens ; article 138 de la directive 2006/112/CE)"
            } else {
                super::place::INTRA_COMMUNITY
            },
            customer_tax_id: customer_tax_id(),
            territory: None,
        });
    }
    // Which special-territory rule applied (automatic tax only: explicit rates are the
    // caller's decision).
    if let (Some(_), Some(t)) = (located, buyer.as_ref().and_then(|b| b.territory)) {
        leading.push(TaxNote {
            code: "special_territory",
            text: t.note,
            customer_tax_id: None,
            territory: Some(t.name),
        });
    }
    notes.splice(0..0, leading);
    let automatic_tax = AutomaticTax {
        enabled: automatic.is_some(),
        status: automatic.map(|_| {
            if buyer.is_some() {
                "complete"
            } else {
                "requires_location_inputs"
            }
        }),
    };
    Ok(TaxOutcome {
        lines: out,
        total_taxes,
        notes,
        automatic_tax,
        rounding_stage: setup.rounding_stage,
        customer_tax_ids,
        backs_out,
    })
}

/// Only exclusive rates, none compound, nothing backed out or reported at zero: each rate's tax
/// is its rounded share of the base.
fn is_simple(decision: &Decision) -> bool {
    decision.back_out.is_empty()
        && decision.zero.is_none()
        && decision
            .collected
            .iter()
            .all(|a| !a.rate.inclusive && !a.compound)
}

/// Each line's taxes under one simple decision, rounded per line (see `is_simple`): the net is
/// the base, each rate's tax its rounded share, the line pays the net plus every tax.
fn direct_lines(
    decision: &Decision,
    count: usize,
    bases: &[i64],
    rounding: &RoundingPolicy,
) -> Result<Vec<LineTaxes>> {
    // Each rate's share as the integer quotient `base × mantissa / 10^(scale + 2)` (see
    // `rounded_share`), its operands read once per quote and kept in 64 bits while they fit.
    let shares: Vec<(&SharedRate, Percent, Option<(i64, i64)>)> = decision
        .collected
        .iter()
        .map(|a| {
            let p = a.rate.percentage;
            let integer = crate::rounding::pow10(p.0.scale() + 2)
                .and_then(|d| i64::try_from(d).ok())
                .zip(i64::try_from(p.0.mantissa()).ok());
            (&a.rate, p, integer.map(|(d, m)| (m, d)))
        })
        .collect();
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let base = bases.get(i).copied().unwrap_or(0);
        let net = money::checked(base, "lines")?;
        let mut line = LineTaxes {
            taxes: crate::few::Few::new(),
            net,
            payable: net,
        };
        for &(rate, percentage, integer) in &shares {
            let amount = match integer.and_then(|(m, d)| Some((base.checked_mul(m)?, d))) {
                Some((n, d)) => rounding.round_quotient_i64(n, d, "")?,
                None => rounded_share(base, percentage, rounding, "")?,
            };
            line.payable = money::checked(line.payable + amount, "lines")?;
            add_tax(&mut line.taxes, rate, amount, base)?;
        }
        out.push(line);
    }
    Ok(out)
}

#[cfg(test)]
thread_local! {
    /// Tests turn the direct paths off to compare them with the general ones.
    pub(crate) static GENERAL_ONLY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// How many times a direct path ran (the tests check they were exercised).
    pub(crate) static DIRECT_RUNS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Whether the direct paths may run (always, outside tests that compare them).
pub(crate) fn direct_enabled() -> bool {
    #[cfg(test)]
    {
        !GENERAL_ONLY.with(|g| g.get())
    }
    #[cfg(not(test))]
    {
        true
    }
}

fn path_of(lines: &[WorkLine], item: &Item) -> String {
    lines.get(item.line).map(WorkLine::path).unwrap_or_default()
}

/// Adds a tax to a line's: a line has few (at most 10 rates, times a shipping line's portions),
/// so a scan finds an equal rate.
fn add_tax(
    taxes: &mut crate::few::Few<LineTax>,
    rate: &SharedRate,
    amount: i64,
    taxable: i64,
) -> Result<()> {
    match taxes.iter_mut().find(|t| t.rate == *rate) {
        Some(t) => {
            t.amount = money::checked(t.amount + amount, "lines")?;
            t.taxable_amount = money::checked(t.taxable_amount + taxable, "lines")?;
        }
        None => taxes.push(LineTax {
            amount,
            taxable_amount: taxable,
            rate: rate.clone(),
        }),
    }
    Ok(())
}

/// The inclusive percentages of an item, in order: collected inclusive rates, then back-outs.
fn inclusive_percents(decision: &Decision) -> Vec<Percent> {
    decision
        .collected
        .iter()
        .filter(|a| a.rate.inclusive)
        .map(|a| a.rate.percentage)
        .chain(decision.back_out.iter().copied())
        .collect()
}

/// Line-level rounding: each item's taxes rounded on their own.
fn line_stage(item: &Item, rounding: &RoundingPolicy, path: &str) -> Result<ItemAmounts> {
    let decision = &item.decision;
    // One exclusive rate, not compound, nothing backed out (a checkout's usual line): what the
    // general steps below give, without their passes.
    if let [applied] = decision.collected.as_slice() {
        if !applied.rate.inclusive && !applied.compound && decision.back_out.is_empty() {
            let amount = rounded_share(item.base, applied.rate.percentage, rounding, path)?;
            let mut collected = Pairs::zeroed(1);
            if let Some(slot) = collected.first_mut() {
                *slot = (amount, item.base);
            }
            return Ok(ItemAmounts {
                net: item.base,
                collected,
            });
        }
    }
    // Inclusive: back the total out of the gross once, then split it over the rates.
    let inclusive = inclusive_percents(decision);
    // Without inclusive rates nothing is backed out (the usual exclusive case skips a division).
    let (backed_out, shares) = if inclusive.is_empty() {
        (0, Vec::new())
    } else {
        let r = sum_percent(inclusive.iter());
        let backed_out = rounding.round(inclusive_part(item.base, r, path)?, path)?;
        let weights: Vec<i64> = inclusive.iter().map(|p| percent_weight(*p)).collect();
        (backed_out, allocate(backed_out, &weights, path)?)
    };
    let net = item.base - backed_out;
    let mut shares = shares.into_iter();
    let mut collected = Pairs::zeroed(decision.collected.len());
    let mut simple_total = 0i64;
    // Exclusive, not compound, then compound on top of them.
    for pass_compound in [false, true] {
        for (applied, slot) in decision.collected.iter().zip(collected.iter_mut()) {
            if applied.rate.inclusive {
                if !pass_compound {
                    *slot = (shares.next().unwrap_or(0), net);
                }
                continue;
            }
            if applied.compound != pass_compound {
                continue;
            }
            let base = if applied.compound {
                money::checked(net + simple_total, path)?
            } else {
                net
            };
            let amount = rounded_share(base, applied.rate.percentage, rounding, path)?;
            if !applied.compound {
                simple_total = money::checked(simple_total + amount, path)?;
            }
            *slot = (amount, base);
        }
    }
    Ok(ItemAmounts { net, collected })
}

/// Invoice-level rounding (EN 16931 BT-117): per rate, the exact amounts of all lines are summed
/// and rounded once; the rounded total is spread back over the lines by `allocate`, so line
/// taxes still add up to the breakdown exactly.
fn invoice_stage(
    items: &[Item],
    rounding: &RoundingPolicy,
    lines: &[WorkLine],
) -> Result<Vec<ItemAmounts>> {
    let mut out: Vec<ItemAmounts> = items
        .iter()
        .map(|i| ItemAmounts {
            net: i.base,
            collected: Pairs::zeroed(i.decision.collected.len()),
        })
        .collect();

    // Back-outs (exempt or reverse-charge customers) are not tax: removed per line.
    for (item, amounts) in items.iter().zip(out.iter_mut()) {
        if !item.decision.back_out.is_empty() {
            let path = path_of(lines, item);
            let r = sum_percent(item.decision.back_out.iter());
            amounts.net -= rounding.round(inclusive_part(item.base, r, &path)?, &path)?;
        }
    }

    // Groups of (item, rate index) sharing one rate, in order of first appearance.
    let mut groups: Vec<(&Applied, Vec<(usize, usize)>)> = Vec::new();
    let mut index = GroupIndex::new();
    for (i, item) in items.iter().enumerate() {
        for (k, applied) in item.decision.collected.iter().enumerate() {
            let (found, hash) = index.find(applied, |g| {
                groups.get(g).is_some_and(|(a, _)| *a == applied)
            });
            match found.and_then(|g| groups.get_mut(g)) {
                Some((_, members)) => members.push((i, k)),
                None => {
                    groups.push((applied, vec![(i, k)]));
                    index.insert(hash, groups.len() - 1);
                }
            }
        }
    }

    // Inclusive groups first (they fix each line's net), then exclusive, then compound.
    for phase in 0..3 {
        for (applied, members) in &groups {
            let in_phase = match phase {
                0 => applied.rate.inclusive,
                1 => !applied.rate.inclusive && !applied.compound,
                _ => applied.compound,
            };
            if !in_phase {
                continue;
            }
            let mut exact = Decimal::ZERO;
            let mut weights = Vec::with_capacity(members.len());
            // Inclusive lines whose sets of inclusive rates differ back out different fractions
            // of their gross: their parts are then not proportional to their bases.
            let mut inclusive_sums: Option<(Decimal, bool)> = None;
            for &(i, _) in members {
                let (Some(item), Some(amounts)) = (items.get(i), out.get(i)) else {
                    continue;
                };
                let path = path_of(lines, item);
                let (part, weight) = if phase == 0 {
                    let r = sum_percent(inclusive_percents(&item.decision).iter());
                    inclusive_sums = match inclusive_sums {
                        None => Some((r, false)),
                        Some((first, mixed)) => Some((first, mixed || r != first)),
                    };
                    let whole = inclusive_part(item.base, r, &path)?;
                    let part = if r.is_zero() {
                        Decimal::ZERO
                    } else {
                        money::mul(whole, applied.rate.percentage.0 / r, &path)?
                    };
                    (part, item.base)
                } else {
                    let base = if phase == 2 {
                        amounts.net + simple_taxes(&item.decision, amounts)
                    } else {
                        amounts.net
                    };
                    (
                        share(Decimal::from(base), applied.rate.percentage, &path)?,
                        base,
                    )
                };
                exact = money::add(exact, part, &path)?;
                weights.push((weight, part));
            }
            if matches!(inclusive_sums, Some((_, true))) {
                proportional_weights(&mut weights);
            }
            let total = rounding.round(exact, "total_taxes")?;
            let parts = spread(total, exact, &weights, rounding)?;
            for (&(i, k), part) in members.iter().zip(parts) {
                let (Some(item), Some(amounts)) = (items.get(i), out.get_mut(i)) else {
                    continue;
                };
                let taxable = match phase {
                    0 => 0, // set once the net is known, below
                    1 => amounts.net,
                    _ => amounts.net + simple_taxes(&item.decision, amounts),
                };
                if let Some(slot) = amounts.collected.get_mut(k) {
                    *slot = (part, taxable);
                }
                if phase == 0 {
                    amounts.net -= part;
                }
            }
        }
        if phase == 0 {
            // The inclusive taxable amount is the net that remains.
            for (item, amounts) in items.iter().zip(out.iter_mut()) {
                if (amounts.net < 0) != (item.base < 0) && amounts.net != 0 {
                    return Err(Error::new(
                        ErrorCode::InvalidRequest,
                        path_of(lines, item),
                        "invoice-level rounding of several inclusive rates left a negative net; use line rounding",
                    ));
                }
                let net = amounts.net;
                for (applied, slot) in item
                    .decision
                    .collected
                    .iter()
                    .zip(amounts.collected.iter_mut())
                {
                    if applied.rate.inclusive {
                        slot.1 = net;
                    }
                }
            }
        }
    }
    Ok(out)
}

/// Replaces each member's weight (its base) with an integer proportional to its exact part, of
/// the base's sign: the largest part scaled to about 10^17, so the proportions are kept to 17
/// digits. Used where the parts are not proportional to the bases (an inclusive rate shared by
/// lines with different sets of inclusive rates: 100 at 16.9269 % alone backs out 14.48, at
/// 16.9269 % beside 29.7729 % only 11.54).
fn proportional_weights(members: &mut [(i64, Decimal)]) {
    let largest = members
        .iter()
        .map(|(_, part)| part.abs())
        .max()
        .unwrap_or(Decimal::ZERO);
    if largest.is_zero() {
        return;
    }
    let (floor, ceiling) = (Decimal::from(10i64.pow(16)), Decimal::from(10i64.pow(17)));
    let mut scale = Decimal::ONE;
    for _ in 0..64 {
        match largest.checked_mul(scale) {
            Some(v) if v < floor => scale *= Decimal::TEN,
            Some(v) if v >= ceiling => scale /= Decimal::TEN,
            _ => break,
        }
    }
    for (weight, part) in members.iter_mut() {
        let scaled = part
            .abs()
            .checked_mul(scale)
            .map(|v| v.round())
            .and_then(|v| i64::try_from(v).ok())
            .unwrap_or(0);
        *weight = if *weight < 0 { -scaled } else { scaled };
    }
}

/// Spreads a rate's rounded total over its lines by their bases. Only charges (the common
/// case): one allocation. With credits among them (an invoice's proration credits), the credits'
/// exact taxes are rounded together and spread over the credits, and the rest of the total over
/// the charges, so a credit never carries the tax of a charge and the total stays rounded once.
/// The credits are rounded in the direction the mode rounds the total (`exact`, the rate's
/// exact total): both roundings then err the same way and the charges stay within one minor
/// unit of their exact tax under every mode. (Rounding a credit "up", away from zero, while
/// the positive total also rounds up added two errors on the charges: found by
/// tests/rounding_policies.rs.)
fn spread(
    total: i64,
    exact: Decimal,
    members: &[(i64, Decimal)],
    rounding: &RoundingPolicy,
) -> Result<Vec<i64>> {
    let path = "total_taxes";
    if members.iter().all(|(base, _)| *base >= 0) {
        let weights: Vec<i64> = members.iter().map(|(base, _)| *base).collect();
        return allocate(total, &weights, path);
    }
    let mut credit_exact = Decimal::ZERO;
    for (_, part) in members.iter().filter(|(base, _)| *base < 0) {
        credit_exact = money::add(credit_exact, *part, path)?;
    }
    // A non-negative total: round the (negative) credits as the mode rounds a positive amount
    // with the same fraction, by shifting them by an even whole number (even: half_even's ties
    // keep their parity) into the positives and back.
    let shift = if exact >= Decimal::ZERO {
        let half = (credit_exact.abs() / Decimal::TWO).ceil();
        money::add(half, Decimal::ONE, path)? * Decimal::TWO
    } else {
        Decimal::ZERO
    };
    let credits = money::checked(
        rounding.round(money::add(credit_exact, shift, path)?, path)?
            - money::to_minor(shift, path)?,
        path,
    )?;
    let weight = |credit: bool| -> Vec<i64> {
        members
            .iter()
            .map(|(base, _)| match (credit, *base < 0) {
                (true, true) => base.saturating_neg(),
                (false, false) => *base,
                _ => 0,
            })
            .collect()
    };
    let credit_parts = allocate(credits, &weight(true), path)?;
    let charge_parts = allocate(money::checked(total - credits, path)?, &weight(false), path)?;
    Ok(credit_parts
        .into_iter()
        .zip(charge_parts)
        .map(|(a, b)| a + b)
        .collect())
}

fn simple_taxes(decision: &Decision, amounts: &ItemAmounts) -> i64 {
    decision
        .collected
        .iter()
        .zip(amounts.collected.iter())
        .filter(|(a, _)| !a.rate.inclusive && !a.compound)
        .map(|(_, (amount, _))| amount)
        .sum()
}
