// Phone numbers arrive as the CRM typed them ("+86 138-0013-8000") and as the API returns them
// ("13800138000", "+8613800138000"). They are personal data: only ever shown masked.

/** Digits only, without China's country code: the form two numbers are compared in. */
export function normalizePhone(raw: string | null | undefined): string {
  let digits = (raw ?? '').replace(/\D/g, '');
  if (digits.startsWith('0086')) digits = digits.slice(4);
  else if (digits.startsWith('86') && digits.length === 13) digits = digits.slice(2);
  return digits;
}

/** "+86 138-1234-5678" -> "138****5678". */
export function maskPhone(phone: string | null | undefined): string {
  const digits = normalizePhone(phone);
  if (digits.length < 7) return '*'.repeat(digits.length);
  return `${digits.slice(0, 3)}****${digits.slice(-4)}`;
}

/** A mainland mobile number anywhere in a sentence ("13912345678", "+86 139 1234 5678") is masked. */
const PHONE_IN_TEXT = /(?<!\d)(?:\+?86[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}(?!\d)/g;

/** The text with every phone in it masked: for logs and for error messages the dashboard shows. */
export function withoutPhones(text: string): string {
  return text.replace(PHONE_IN_TEXT, (match) => maskPhone(match));
}
