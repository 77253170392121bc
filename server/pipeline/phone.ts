// Phone numbers arrive as the CRM typed them ("+86 138-0013-8000") and as the API returns them
// ("13800138000", "+8613800138000"): compare digits only, without China's country code.

export function normalizePhone(raw: string | null | undefined): string {
  let digits = (raw ?? '').replace(/\D/g, '');
  if (digits.startsWith('0086')) digits = digits.slice(4);
  else if (digits.startsWith('86') && digits.length === 13) digits = digits.slice(2);
  return digits;
}
