//! Eligibility, stacking and application of every discount of a quote (see the module docs of
//! [`crate::discount`] for the rules).

use super::cart_rules::{OrderBenefit, RuleEffect, UnitBenefit, ValidPromotion};
use super::coupon::{CouponValue, InCurrency, ValidCoupon};
use super::percent::{Basis, FULL};
use super::promotion_code::ValidPromotionCode;
use super::{
    AppliedDiscount, CouponRef, CouponSummary, DiscountAmount, DiscountInput, Level,
    PromotionCodeSummary, PromotionSummary, Reason, RejectedDiscount,
};
use crate::allocate::allocate;
use crate::catalog::Calculator;
use crate::error::{join_path, Error, ErrorCode, Result};
use crate::money;
use crate::quote::{QuoteContext, QuoteInput, WorkLine};
use crate::rounding::RoundingPolicy;
use std::borrow::Cow;

/// What the discount stage reports; the lines carry their `discount_amounts`.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub applied: Vec<AppliedDiscount>,
    pub rejected: Vec<RejectedDiscount>,
    /// Each applied discount's total, in `applied` order (the quote's `total_discount_amounts`),
    /// holding the very id the lines' `discount_amounts` share: a line's part is matched to its
    /// discount by pointer before any string comparison.
    pub amounts: Vec<DiscountAmount>,
}

impl Outcome {
    /// Total of the applied discounts at `level`.
    pub fn total(&self, level: Level) -> Result<i64> {
        money::sum(
            self.applied
                .iter()
                .filter(|d| d.level == level)
                .map(|d| d.amount),
            "discounts",
        )
    }
}

/// What a line is, for discounts.
struct Facts<'a> {
    product: Option<&'a str>,
    categories: &'a [String],
    shipping: bool,
    discountable: bool,
    quantity: i64,
    amount: i64,
}

struct Header {
    id: String,
    level: Level,
    line: Option<usize>,
    coupon: Option<String>,
    promotion_code: Option<String>,
    promotion: Option<String>,
}

/// How an eligible discount computes its amount from what its lines have left.
#[derive(Debug, Clone)]
enum Effect {
    /// Percent of the targets' total, split pro rata.
    Percent(Basis),
    /// Up to this amount of the targets' total, split pro rata; reports what is left unused.
    AmountOff(i64),
    /// The reached spend tiers: the one taking the most off wins.
    BestOf(Vec<OrderBenefit>),
    /// `units` of the cheapest target units get `basis` off.
    FreeUnits { units: i64, basis: Basis },
    /// Each target unit gets the benefit.
    PerUnit(UnitBenefit),
    /// The targets' whole remaining amount (free shipping).
    Whole,
}

struct Candidate {
    header: Header,
    coupon: Option<CouponSummary>,
    promotion_code: Option<PromotionCodeSummary>,
    promotion: Option<PromotionSummary>,
    targets: Vec<usize>,
    effect: Effect,
    cap: Option<i64>,
    combinable: bool,
    priority: i64,
}

enum Verdict {
    Eligible(Box<Candidate>),
    Rejected(RejectedDiscount),
}

/// What one applied discount took: (line, amount) parts and the unused part of a fixed amount.
struct Taken {
    parts: Vec<(usize, i64)>,
    unused: Option<i64>,
}

fn rejected(header: Header, reason: Reason) -> RejectedDiscount {
    RejectedDiscount {
        id: header.id,
        level: header.level,
        line: header.line,
        coupon: header.coupon,
        promotion_code: header.promotion_code,
        promotion: header.promotion,
        reason,
        missing_amount: None,
        missing_quantity: None,
        conflicts_with: Vec::new(),
    }
}

fn reject(header: Header, reason: Reason) -> Verdict {
    Verdict::Rejected(rejected(header, reason))
}

fn short_of_amount(header: Header, missing: i64) -> Verdict {
    let mut r = rejected(header, Reason::MinimumNotMet);
    r.missing_amount = Some(missing);
    Verdict::Rejected(r)
}

fn short_of_quantity(header: Header, missing: i64) -> Verdict {
    let mut r = rejected(header, Reason::MinimumQuantityNotMet);
    r.missing_quantity = Some(missing);
    Verdict::Rejected(r)
}

/// `prefix[i]`, in one allocation (this runs for every requested discount).
fn indexed(prefix: &str, i: usize) -> String {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = i;
    loop {
        at -= 1;
        if let Some(d) = digits.get_mut(at) {
            *d = b'0' + (rest % 10) as u8;
        }
        rest /= 10;
        if rest == 0 || at == 0 {
            break;
        }
    }
    let digits = std::str::from_utf8(digits.get(at..).unwrap_or_default()).unwrap_or_default();
    let mut path = String::with_capacity(prefix.len() + digits.len() + 2);
    path.push_str(prefix);
    path.push('[');
    path.push_str(digits);
    path.push(']');
    path
}

fn internal(path: &str) -> Error {
    Error::new(
        ErrorCode::AmountOverflow,
        path,
        "discount arithmetic out of range",
    )
}

struct Env<'a> {
    calculator: &'a Calculator,
    context: &'a QuoteContext<'a>,
    facts: Vec<Facts<'a>>,
    /// Pre-discount amount of every line that is not shipping.
    merchandise: i64,
}

/// Runs the discount stage over priced lines: fills each line's `discount_amounts` and reports
/// what applied and what did not.
pub fn apply(
    calculator: &Calculator,
    context: &QuoteContext,
    input: &QuoteInput,
    lines: &mut [WorkLine],
) -> Result<Outcome> {
    let rules = if context.cart_promotions {
        calculator.promotions()
    } else {
        &[]
    };
    // Nothing requested and no rules: nothing to do (the checkout hot path without discounts).
    if input.discounts.is_empty()
        && rules.is_empty()
        && lines.iter().all(|l| l.input.discounts.is_empty())
    {
        return Ok(Outcome::default());
    }
    let facts: Vec<Facts> = lines
        .iter()
        .map(|line| {
            let product = calculator.product_of(line);
            Facts {
                product: line.price.product.as_deref(),
                categories: product.map_or(&[][..], |p| p.categories.as_slice()),
                shipping: Calculator::category_with(line, product) == Some("shipping"),
                discountable: line.discountable,
                quantity: line.quantity,
                amount: line.amount,
            }
        })
        .collect();
    for line in lines.iter() {
        if !line.discountable && !line.input.discounts.is_empty() {
            return Err(Error::new(
                ErrorCode::InvalidDiscount,
                join_path(&line.path(), "discounts"),
                "a line that is not discountable cannot carry discounts",
            ));
        }
    }
    let merchandise = money::sum(
        facts.iter().filter(|f| !f.shipping).map(|f| f.amount),
        "lines",
    )?;
    let env = Env {
        calculator,
        context,
        facts,
        merchandise,
    };

    // Candidates in application order: item level, then order level.
    let mut verdicts = Vec::with_capacity(rules.len() + input.discounts.len());
    for rule in rules.iter().filter(|r| !r.is_order_level()) {
        verdicts.push(env.rule(rule)?);
    }
    for line in lines.iter().filter(|l| !l.input.discounts.is_empty()) {
        let mut seen = Vec::new();
        let prefix = join_path(&line.path(), "discounts");
        for (i, entry) in line.input.discounts.iter().enumerate() {
            let path = indexed(&prefix, i);
            let later = i + 1 < line.input.discounts.len();
            verdicts.push(env.requested(entry, path, Some(line.index), &mut seen, later)?);
        }
    }
    for rule in rules.iter().filter(|r| r.is_order_level()) {
        verdicts.push(env.rule(rule)?);
    }
    let mut seen = Vec::new();
    for (i, entry) in input.discounts.iter().enumerate() {
        let later = i + 1 < input.discounts.len();
        verdicts.push(env.requested(entry, indexed("discounts", i), None, &mut seen, later)?);
    }

    // Stacking: all eligible discounts if they all combine; else the best-ranked option.
    let eligible: Vec<&Candidate> = verdicts
        .iter()
        .filter_map(|v| match v {
            Verdict::Eligible(c) => Some(c.as_ref()),
            Verdict::Rejected(_) => None,
        })
        .collect();
    let (chosen, taken) = env.stack(&eligible)?;
    // Needed only when a discount lost to them (they are its `conflicts_with`).
    let winners: Vec<String> = if chosen.len() < eligible.len() {
        chosen
            .iter()
            .filter_map(|&i| eligible.get(i).map(|c| c.header.id.clone()))
            .collect()
    } else {
        Vec::new()
    };

    // Outputs in candidate order; lines get their parts.
    let mut outcome = Outcome::default();
    let mut taken = taken.into_iter();
    let mut eligible_index = 0;
    for verdict in verdicts {
        match verdict {
            Verdict::Rejected(r) => outcome.rejected.push(r),
            Verdict::Eligible(c) => {
                let c = *c;
                let selected = chosen.contains(&eligible_index);
                eligible_index += 1;
                if !selected {
                    let mut r = rejected(c.header, Reason::NotCombinable);
                    r.conflicts_with = winners.clone();
                    outcome.rejected.push(r);
                    continue;
                }
                let t = taken.next().ok_or_else(|| internal(&c.header.id))?;
                let amount = money::sum(t.parts.iter().map(|p| p.1), &c.header.id)?;
                let shared_id: std::sync::Arc<str> = c.header.id.as_str().into();
                for &(j, part) in &t.parts {
                    if part == 0 {
                        continue;
                    }
                    let line = lines.get_mut(j).ok_or_else(|| internal(&c.header.id))?;
                    line.discount_amounts.push(DiscountAmount {
                        discount: shared_id.clone(),
                        amount: part,
                    });
                }
                outcome.amounts.push(DiscountAmount {
                    discount: shared_id,
                    amount,
                });
                outcome.applied.push(AppliedDiscount {
                    id: c.header.id,
                    level: c.header.level,
                    line: c.header.line,
                    coupon: c.coupon,
                    promotion_code: c.promotion_code,
                    promotion: c.promotion,
                    amount,
                    unused_amount: t.unused,
                });
            }
        }
    }
    Ok(outcome)
}

impl Env<'_> {
    /// Which eligible discounts apply (indices into `eligible`) and what each takes. When all
    /// combine, all of them. Otherwise the options are the combinable ones together and each
    /// non-combinable one alone; the option holding the highest priority wins, then the one
    /// taking the most off, then the first (the combinable group comes first).
    fn stack(&self, eligible: &[&Candidate]) -> Result<(Vec<usize>, Vec<Taken>)> {
        if eligible.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        // One option only (all combine, or a single discount): it is the choice.
        if eligible.len() == 1 || eligible.iter().all(|c| c.combinable) {
            return Ok(((0..eligible.len()).collect(), self.run(eligible)?));
        }
        let mut options: Vec<Vec<usize>> = Vec::new();
        let group: Vec<usize> = (0..eligible.len())
            .filter(|&i| eligible.get(i).is_some_and(|c| c.combinable))
            .collect();
        if !group.is_empty() {
            options.push(group);
        }
        for (i, c) in eligible.iter().enumerate() {
            if !c.combinable {
                options.push(vec![i]);
            }
        }
        let mut best: Option<(i64, i64, Vec<usize>, Vec<Taken>)> = None;
        for option in options {
            let chosen: Vec<&Candidate> = option
                .iter()
                .filter_map(|&i| eligible.get(i).copied())
                .collect();
            let taken = self.run(&chosen)?;
            let value = money::sum(
                taken.iter().flat_map(|t| t.parts.iter().map(|p| p.1)),
                "discounts",
            )?;
            let priority = chosen.iter().map(|c| c.priority).max().unwrap_or(0);
            let better = best
                .as_ref()
                .map_or(true, |(p, v, _, _)| (priority, value) > (*p, *v));
            if better {
                best = Some((priority, value, option, taken));
            }
        }
        Ok(best.map_or((Vec::new(), Vec::new()), |(_, _, o, t)| (o, t)))
    }

    /// `Some(reason)` when `at` (default `as_of`) falls outside [starts, ends); `as_of` is
    /// required only here.
    fn window(
        &self,
        starts: Option<i64>,
        ends: Option<i64>,
        at: Option<i64>,
    ) -> Result<Option<Reason>> {
        if starts.is_none() && ends.is_none() {
            return Ok(None);
        }
        let t = at
            .or(self.context.as_of.map(|a| a.instant))
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::MissingField,
                    "as_of",
                    "a discount with a validity window needs as_of (the engine has no clock)",
                )
            })?;
        Ok(if starts.is_some_and(|s| t < s) {
            Some(Reason::NotYetValid)
        } else if ends.is_some_and(|e| t >= e) {
            Some(Reason::Expired)
        } else {
            None
        })
    }

    fn fact(&self, j: usize) -> Option<&Facts<'_>> {
        self.facts.get(j)
    }

    /// A coupon or promotion code the caller asked for, at `path`, for line `line` (item level)
    /// or the order.
    fn requested(
        &self,
        entry: &DiscountInput,
        path: String,
        line: Option<usize>,
        seen: &mut Vec<(String, String)>,
        later: bool,
    ) -> Result<Verdict> {
        let mut header = Header {
            id: entry.path.clone().unwrap_or(path),
            level: if line.is_some() {
                Level::Item
            } else {
                Level::Order
            },
            line,
            coupon: None,
            promotion_code: None,
            promotion: None,
        };
        let path = header.id.clone();
        if entry.redeemed_at.is_none() {
            for (field, given) in [
                ("start", entry.start.is_some()),
                ("end", entry.end.is_some()),
            ] {
                if given {
                    return Err(Error::new(
                        ErrorCode::InvalidDiscount,
                        join_path(&path, field),
                        "start and end belong to subscription discounts",
                    ));
                }
            }
        }
        let (coupon, code): (Cow<ValidCoupon>, Option<&ValidPromotionCode>) =
            match (&entry.coupon, &entry.promotion_code) {
                (Some(_), Some(_)) => {
                    return Err(Error::new(
                        ErrorCode::InvalidDiscount,
                        join_path(&path, "promotion_code"),
                        "give coupon or promotion_code, not both",
                    ))
                }
                (None, None) => {
                    return Err(Error::new(
                        ErrorCode::InvalidDiscount,
                        path,
                        "a discount needs coupon or promotion_code",
                    ))
                }
                (None, Some(text)) => match self.calculator.promotion_code(text) {
                    None => {
                        header.promotion_code = Some(text.trim().to_string());
                        return Ok(reject(header, Reason::UnknownCode));
                    }
                    Some(pc) => {
                        header.promotion_code = Some(pc.code.clone());
                        let coupon = self.calculator.coupon(&pc.coupon).ok_or_else(|| {
                            Error::new(
                                ErrorCode::UnknownCoupon,
                                join_path(&path, "promotion_code"),
                                "the promotion code's coupon is not in the catalog",
                            )
                        })?;
                        (Cow::Borrowed(coupon), Some(pc))
                    }
                },
                (Some(CouponRef::Id(id)), None) => {
                    let coupon = self.calculator.coupon(id).ok_or_else(|| {
                        Error::new(
                            ErrorCode::UnknownCoupon,
                            join_path(&path, "coupon"),
                            "no coupon with this id in the catalog",
                        )
                    })?;
                    (Cow::Borrowed(coupon), None)
                }
                (Some(CouponRef::Inline(c)), None) => {
                    (Cow::Owned(c.validate(&join_path(&path, "coupon"))?), None)
                }
            };
        header.coupon = coupon.id.clone();

        if let Some(id) = &coupon.id {
            if let Some((_, first)) = seen.iter().find(|(c, _)| c == id) {
                let mut r = rejected(header, Reason::Duplicate);
                r.conflicts_with = vec![first.clone()];
                return Ok(Verdict::Rejected(r));
            }
            // Only a later entry of the same list can repeat it (the last one is not kept).
            if later {
                seen.push((id.clone(), path.clone()));
            }
        }
        if !coupon.valid || code.is_some_and(|c| !c.active) {
            return Ok(reject(header, Reason::Inactive));
        }
        // A discount redeemed earlier (a subscription's) is judged at its redemption instant.
        let at = entry.redeemed_at;
        if let Some(pc) = code {
            if let Some(reason) = self.window(pc.starts_at, pc.expires_at, at)? {
                return Ok(reject(header, reason));
            }
        }
        if let Some(reason) = self.window(coupon.starts_at, coupon.redeem_by, at)? {
            return Ok(reject(header, reason));
        }
        let customer = self.context.customer;
        if let Some(pc) = code {
            if let Some(owner) = &pc.customer {
                let id = customer.and_then(|c| c.id.as_deref()).ok_or_else(|| {
                    Error::new(
                        ErrorCode::MissingField,
                        "customer.id",
                        "this promotion code is restricted to one customer: say who the customer is",
                    )
                })?;
                if id != owner {
                    return Ok(reject(header, Reason::CustomerMismatch));
                }
            }
            if pc.first_time_transaction {
                let paid = customer.and_then(|c| c.has_paid_before).ok_or_else(|| {
                    Error::new(
                        ErrorCode::MissingField,
                        "customer.has_paid_before",
                        "this promotion code is for first-time customers: say whether the customer has paid before",
                    )
                })?;
                if paid {
                    return Ok(reject(header, Reason::FirstTimeOnly));
                }
            }
        }
        let currency = self.context.currency;
        let Some((value, cap)) = coupon.in_currency(currency) else {
            return Ok(reject(header, Reason::CurrencyMismatch));
        };
        let minimum = match code {
            Some(pc) if !pc.minimums.is_empty() => {
                match pc.minimums.iter().find(|m| m.0 == currency) {
                    Some(m) => Some(m.1),
                    None => return Ok(reject(header, Reason::CurrencyMismatch)),
                }
            }
            _ => None,
        };
        let targets: Vec<usize> = match line {
            Some(j) => self
                .fact(j)
                .filter(|f| coupon.applies_to_product(f.product))
                .map(|_| vec![j])
                .unwrap_or_default(),
            None => {
                // Sized once (a filter's collect grows by doubling: three reallocations for a
                // 20-line cart).
                let mut targets = Vec::with_capacity(self.facts.len());
                for (j, f) in self.facts.iter().enumerate() {
                    if f.discountable && !f.shipping && coupon.applies_to_product(f.product) {
                        targets.push(j);
                    }
                }
                targets
            }
        };
        if targets.is_empty() {
            return Ok(reject(header, Reason::NotApplicableToCart));
        }
        if let Some(m) = minimum {
            if self.merchandise < m {
                return Ok(short_of_amount(header, m - self.merchandise));
            }
        }
        let (effect, amount_off) = match value {
            InCurrency::Percent(b) => (Effect::Percent(b), None),
            InCurrency::AmountOff(a) => (Effect::AmountOff(a), Some(a)),
        };
        let summary = CouponSummary {
            id: coupon.id.clone(),
            name: coupon.name.clone(),
            percent_off: match coupon.value {
                CouponValue::Percent(_) => coupon.percent_off,
                CouponValue::AmountOff(_) => None,
            },
            amount_off,
            max_discount_amount: cap,
            currency: (amount_off.is_some() || cap.is_some()).then_some(currency),
            duration: coupon.duration,
            duration_in_months: coupon.duration_in_months,
            redeem_by: coupon.redeem_by,
            max_redemptions: coupon.max_redemptions,
        };
        Ok(Verdict::Eligible(Box::new(Candidate {
            promotion_code: code.map(|pc| PromotionCodeSummary {
                id: pc.id.clone(),
                code: pc.code.clone(),
                max_redemptions: pc.max_redemptions,
            }),
            header,
            coupon: Some(summary),
            promotion: None,
            targets,
            effect,
            cap,
            combinable: coupon.combinable,
            priority: coupon.priority,
        })))
    }

    /// A catalog cart rule: applies automatically when its conditions hold.
    fn rule(&self, rule: &ValidPromotion) -> Result<Verdict> {
        let header = Header {
            id: ["promotion:", &rule.id].concat(),
            level: if rule.is_order_level() {
                Level::Order
            } else {
                Level::Item
            },
            line: None,
            coupon: None,
            promotion_code: None,
            promotion: Some(rule.id.clone()),
        };
        if !rule.active {
            return Ok(reject(header, Reason::Inactive));
        }
        if let Some(reason) = self.window(rule.starts_at, rule.ends_at, None)? {
            return Ok(reject(header, reason));
        }
        if rule.currency.is_some_and(|c| c != self.context.currency) {
            return Ok(reject(header, Reason::CurrencyMismatch));
        }
        let qualifying: Vec<usize> = self
            .facts
            .iter()
            .enumerate()
            .filter(|(_, f)| f.discountable && !f.shipping && rule.matches(f.product, f.categories))
            .map(|(j, _)| j)
            .collect();
        if rule.has_filter() && qualifying.is_empty() {
            return Ok(reject(header, Reason::NotApplicableToCart));
        }
        let targets: Vec<usize> = match rule.effect {
            RuleEffect::FreeShipping => self
                .facts
                .iter()
                .enumerate()
                .filter(|(_, f)| f.discountable && f.shipping)
                .map(|(j, _)| j)
                .collect(),
            RuleEffect::SpendThreshold(_) => qualifying.clone(),
            _ => qualifying
                .iter()
                .copied()
                .filter(|&j| self.fact(j).is_some_and(|f| f.quantity > 0))
                .collect(),
        };
        if targets.is_empty() {
            return Ok(reject(header, Reason::NotApplicableToCart));
        }
        let path = header.id.clone();
        let sum_of = |list: &[usize], field: fn(&Facts) -> i64| {
            money::sum(list.iter().filter_map(|&j| self.fact(j)).map(field), &path)
        };
        let quantity = sum_of(&qualifying, |f| f.quantity)?;
        let amount = sum_of(&qualifying, |f| f.amount)?;
        if let Some(m) = rule.minimum_quantity {
            if quantity < m {
                return Ok(short_of_quantity(header, m - quantity));
            }
        }
        if let Some(m) = rule.minimum_amount {
            if amount < m {
                return Ok(short_of_amount(header, m - amount));
            }
        }
        let effect = match &rule.effect {
            RuleEffect::BuyXGetY {
                buy,
                get,
                basis,
                max_applications,
            } => {
                let group = money::checked(buy.saturating_add(*get), &path)?;
                let units = sum_of(&targets, |f| f.quantity)?;
                if units < group {
                    return Ok(short_of_quantity(header, group - units));
                }
                let mut times = units / group;
                if let Some(m) = max_applications {
                    times = times.min(*m);
                }
                Effect::FreeUnits {
                    units: money::checked(times.saturating_mul(*get), &path)?,
                    basis: *basis,
                }
            }
            RuleEffect::SpendThreshold(tiers) => {
                let reached: Vec<OrderBenefit> = tiers
                    .iter()
                    .filter(|t| t.0 <= amount)
                    .map(|t| t.1)
                    .collect();
                if reached.is_empty() {
                    let lowest = tiers.first().map_or(0, |t| t.0);
                    return Ok(short_of_amount(header, lowest - amount));
                }
                Effect::BestOf(reached)
            }
            RuleEffect::QuantityBreak(tiers) => {
                let units = sum_of(&targets, |f| f.quantity)?;
                match tiers.iter().rev().find(|t| t.0 <= units) {
                    Some(t) => Effect::PerUnit(t.1),
                    None => {
                        let lowest = tiers.first().map_or(0, |t| t.0);
                        return Ok(short_of_quantity(header, lowest - units));
                    }
                }
            }
            RuleEffect::FixedPrice(u) => Effect::PerUnit(UnitBenefit::UnitAmount(*u)),
            RuleEffect::FreeShipping => Effect::Whole,
        };
        Ok(Verdict::Eligible(Box::new(Candidate {
            header,
            coupon: None,
            promotion_code: None,
            promotion: Some(PromotionSummary {
                id: rule.id.clone(),
                name: rule.name.clone(),
            }),
            targets,
            effect,
            cap: rule.cap,
            combinable: rule.combinable,
            priority: rule.priority,
        })))
    }

    /// Applies `chosen` in order to the lines' pre-discount amounts.
    fn run(&self, chosen: &[&Candidate]) -> Result<Vec<Taken>> {
        let mut remaining: Vec<i64> = self.facts.iter().map(|f| f.amount).collect();
        let mut out = Vec::with_capacity(chosen.len());
        for c in chosen {
            let taken = self.compute(c, &remaining)?;
            for &(j, part) in &taken.parts {
                let left = remaining.get_mut(j).ok_or_else(|| internal(&c.header.id))?;
                if part < 0 || part > *left {
                    return Err(internal(&c.header.id));
                }
                *left -= part;
            }
            out.push(taken);
        }
        Ok(out)
    }

    fn compute(&self, c: &Candidate, remaining: &[i64]) -> Result<Taken> {
        let path = c.header.id.as_str();
        let policy = self.context.rounding;
        let left = |j: usize| remaining.get(j).copied().unwrap_or(0);
        let base = money::sum(c.targets.iter().map(|&j| left(j)), path)?;
        let capped = |d: i64| c.cap.map_or(d, |cap| d.min(cap));
        let fixed = |a: i64| {
            let d = capped(a.min(base));
            (d, Some(a - d))
        };
        let (total, unused) = match &c.effect {
            Effect::Percent(b) => (capped(percent_of(base, *b, policy, path)?), None),
            Effect::AmountOff(a) => fixed(*a),
            Effect::BestOf(benefits) => {
                let mut best = (0, None);
                for benefit in benefits {
                    let option = match *benefit {
                        OrderBenefit::Percent(b) => {
                            (capped(percent_of(base, b, policy, path)?), None)
                        }
                        OrderBenefit::AmountOff(a) => fixed(a),
                    };
                    // Tiers ascend: on a tie the higher tier wins.
                    if option.0 >= best.0 {
                        best = option;
                    }
                }
                best
            }
            Effect::FreeUnits { units, basis } => {
                let parts = self.free_units(c, remaining, *units, *basis)?;
                return Ok(Taken {
                    parts: cap_parts(parts, c.cap, path)?,
                    unused: None,
                });
            }
            Effect::PerUnit(benefit) => {
                let mut parts = Vec::with_capacity(c.targets.len());
                for &j in &c.targets {
                    let r = left(j);
                    let q = i128::from(self.fact(j).map_or(0, |f| f.quantity));
                    let d = match *benefit {
                        UnitBenefit::Percent(b) => percent_of(r, b, policy, path)?,
                        UnitBenefit::AmountOff(a) => clamp(i128::from(a) * q, r),
                        UnitBenefit::UnitAmount(u) => clamp(i128::from(r) - i128::from(u) * q, r),
                    };
                    parts.push((j, d));
                }
                return Ok(Taken {
                    parts: cap_parts(parts, c.cap, path)?,
                    unused: None,
                });
            }
            Effect::Whole => {
                let parts = c.targets.iter().map(|&j| (j, left(j))).collect();
                return Ok(Taken {
                    parts: cap_parts(parts, c.cap, path)?,
                    unused: None,
                });
            }
        };
        // An order amount is split over the targets pro rata to what they have left (every
        // line, in order, is the usual order coupon: their amounts left are the weights as
        // they are).
        let every_line = c.targets.len() == remaining.len()
            && c.targets.iter().enumerate().all(|(k, &j)| k == j);
        let split = if every_line {
            allocate(total, remaining, path)?
        } else {
            let weights: Vec<i64> = c.targets.iter().map(|&j| left(j)).collect();
            allocate(total, &weights, path)?
        };
        Ok(Taken {
            parts: c.targets.iter().copied().zip(split).collect(),
            unused,
        })
    }

    /// The `units` cheapest units of the targets (by what each unit has left; ties to the
    /// earlier line) get `basis` off.
    fn free_units(
        &self,
        c: &Candidate,
        remaining: &[i64],
        units: i64,
        basis: Basis,
    ) -> Result<Vec<(usize, i64)>> {
        let path = c.header.id.as_str();
        let left = |j: usize| i128::from(remaining.get(j).copied().unwrap_or(0));
        let quantity = |j: usize| i128::from(self.fact(j).map_or(0, |f| f.quantity));
        // How many units of each target are discounted: cheapest unit first (what the line has
        // left ÷ its quantity, compared exactly by cross-multiplication; lines without units
        // last; ties to the earlier line). A sort, so a cart of n lines costs n log n per rule.
        let target = |t: usize| c.targets.get(t).copied().unwrap_or(0);
        let order = crate::sort::sorted_indices(c.targets.len(), &|a, b| {
            let (ja, jb) = (target(a), target(b));
            let (qa, qb) = (quantity(ja), quantity(jb));
            (qa == 0)
                .cmp(&(qb == 0))
                .then_with(|| (left(ja) * qb).cmp(&(left(jb) * qa)))
                .then(a.cmp(&b))
        });
        let mut taken = vec![0i128; c.targets.len()];
        let mut units_left = i128::from(units);
        for t in order {
            if units_left <= 0 {
                break;
            }
            let k = quantity(target(t)).min(units_left).max(1);
            units_left -= k;
            if let Some(slot) = taken.get_mut(t) {
                *slot = k;
            }
        }
        let mut parts = Vec::new();
        for (&j, &k) in c.targets.iter().zip(&taken) {
            if k == 0 {
                continue;
            }
            let (r, q) = (left(j), quantity(j));
            let numerator = r
                .checked_mul(k)
                .and_then(|v| v.checked_mul(i128::from(basis)))
                .ok_or_else(|| internal(path))?;
            let denominator = q
                .checked_mul(i128::from(FULL))
                .ok_or_else(|| internal(path))?;
            let d = self
                .context
                .rounding
                .round_ratio(numerator, denominator, path)?;
            parts.push((j, clamp(i128::from(d), i64::try_from(r).unwrap_or(0))));
        }
        Ok(parts)
    }
}

/// `value` within [0, limit].
fn clamp(value: i128, limit: i64) -> i64 {
    i64::try_from(value.clamp(0, i128::from(limit.max(0)))).unwrap_or(0)
}

/// Limits per-line parts to `cap` in total, split pro rata to the parts.
fn cap_parts(parts: Vec<(usize, i64)>, cap: Option<i64>, path: &str) -> Result<Vec<(usize, i64)>> {
    let total = money::sum(parts.iter().map(|p| p.1), path)?;
    match cap {
        Some(cap) if total > cap => {
            let weights: Vec<i64> = parts.iter().map(|p| p.1).collect();
            let split = allocate(cap, &weights, path)?;
            Ok(parts.iter().map(|p| p.0).zip(split).collect())
        }
        _ => Ok(parts),
    }
}

/// `basis` hundredths of a percent of `base`, rounded by the policy, never above `base`.
fn percent_of(base: i64, basis: Basis, policy: RoundingPolicy, path: &str) -> Result<i64> {
    let numerator = i128::from(base) * i128::from(basis);
    let d = policy.round_ratio(numerator, i128::from(FULL), path)?;
    Ok(d.clamp(0, base.max(0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rounding::RoundingMode;

    fn policy(mode: RoundingMode, increment: Option<i64>) -> RoundingPolicy {
        RoundingPolicy { mode, increment }
    }

    #[test]
    fn indexed_paths() {
        for i in [0usize, 7, 10, 99, 12_345, usize::MAX] {
            assert_eq!(indexed("discounts", i), format!("discounts[{i}]"));
        }
    }

    #[test]
    fn percent_never_exceeds_base() {
        let up = policy(RoundingMode::Up, Some(100));
        assert_eq!(percent_of(1003, FULL, up, ""), Ok(1003));
        assert_eq!(percent_of(0, 5000, up, ""), Ok(0));
    }
}
