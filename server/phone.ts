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
