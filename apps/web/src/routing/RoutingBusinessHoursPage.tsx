export default function RoutingBusinessHoursPage() {
  return null;
}
