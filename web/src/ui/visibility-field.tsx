import { useId } from 'react';
import type { Visibility } from '#contracts/api';

const CHOICES: readonly { value: Visibility; label: string; hint: string }[] = [
  { value: 'public', label: 'Public', hint: 'Anyone can watch it.' },
  { value: 'unlisted', label: 'Unlisted', hint: 'Anyone with the link can watch it.' },
  { value: 'private', label: 'Private', hint: 'Only you can watch it.' },
];

export const visibilityLabel = (value: Visibility): string => CHOICES.find((c) => c.value === value)?.label ?? value;

/** The "Visibility" select, with what the chosen value means. */
export function VisibilityField({ value, onChange }: { value: Visibility; onChange: (value: Visibility) => void }) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={`${id}-visibility`}>Visibility</label>
      <select id={`${id}-visibility`} aria-describedby={`${id}-hint`} value={value} onChange={(e) => onChange(e.target.value as Visibility)}>
        {CHOICES.map((c) => (
          <option key={c.value} value={c.value}>
            {c.label}
          </option>
        ))}
      </select>
      <p id={`${id}-hint`} className="hint">
        {CHOICES.find((c) => c.value === value)?.hint}
      </p>
    </div>
  );
}
