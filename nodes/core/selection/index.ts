/** How a vehicle finds its station: the stations' signed offers, and the policy that ranks them. */
export { OfferBook, OfferLimits, Position, offerRefusal, stationPosition } from './offers';
export { Strategy, Weights, SelectionPolicy, Candidate, Skip, Ranking, checkSelectionPolicy, rankOffers, describeChoice } from './rank';
export { StationChooser, Choice, Alternative } from './chooser';
