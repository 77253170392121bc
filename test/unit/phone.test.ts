import { describe, expect, it } from 'vitest';
import { maskPhone, normalizePhone } from '../../server/phone.ts';

describe('phone numbers', () => {
  it.each([
    ['13800138000', '13800138000'],
    ['+86 138-0013-8000', '13800138000'],
    ['+8613800138000', '13800138000'],
    ['0086 138 0013 8000', '13800138000'],
    ['(138) 0013-8000', '13800138000'],
    ['021-6888 1234', '02168881234'],
  ])('compares %s as %s', (raw, digits) => {
    expect(normalizePhone(raw)).toBe(digits);
  });

  it('masks the middle digits, whatever the format', () => {
    expect(maskPhone('+86 138-1234-5678')).toBe('138****5678');
    expect(maskPhone('13812345678')).toBe('138****5678');
    expect(maskPhone('12345')).toBe('*****');
    expect(maskPhone(null)).toBe('');
  });
});
